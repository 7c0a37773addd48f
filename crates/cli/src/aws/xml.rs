//! Just enough XML to read AWS Query API answers: elements, text and the five entities (no
//! attributes beyond skipping them, no CDATA), turned into JSON the way the AWS CLI prints them:
//! a leaf is a string, `<member>` children are an array, other children are an object.

use serde_json::{Map, Value};

#[derive(Debug)]
struct Node {
    name: String,
    children: Vec<Node>,
    text: String,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

fn parse_node(s: &str, pos: &mut usize) -> Option<Node> {
    // At '<name ...>'.
    let rest = &s[*pos..];
    let end = rest.find('>')?;
    let tag = &rest[1..end];
    let self_closing = tag.ends_with('/');
    let name = tag.trim_end_matches('/').split_whitespace().next()?.to_string();
    *pos += end + 1;
    let mut node = Node { name, children: Vec::new(), text: String::new() };
    if self_closing {
        return Some(node);
    }
    loop {
        let rest = &s[*pos..];
        let lt = rest.find('<')?;
        node.text.push_str(&rest[..lt]);
        *pos += lt;
        if s[*pos..].starts_with("</") {
            *pos += s[*pos..].find('>')? + 1;
            node.text = unescape(node.text.trim());
            return Some(node);
        }
        node.children.push(parse_node(s, pos)?);
    }
}

fn to_json(n: &Node) -> Value {
    if n.children.is_empty() {
        return Value::String(n.text.clone());
    }
    if n.children.iter().all(|c| c.name == "member") {
        return Value::Array(n.children.iter().map(to_json).collect());
    }
    let mut m = Map::new();
    for c in &n.children {
        m.insert(c.name.clone(), to_json(c));
    }
    Value::Object(m)
}

/// Every element named `name`, at any depth, in document order, each in its JSON form (for
/// answers whose elements repeat, such as S3's `<Contents>`).
pub fn all(doc: &str, name: &str) -> Vec<Value> {
    fn walk(n: &Node, name: &str, out: &mut Vec<Value>) {
        for c in &n.children {
            if c.name == name {
                out.push(to_json(c));
            } else {
                walk(c, name, out);
            }
        }
    }
    let mut pos = 0;
    loop {
        let Some(i) = doc[pos..].find('<') else { return Vec::new() };
        pos += i;
        if doc[pos..].starts_with("<?") || doc[pos..].starts_with("<!") {
            match doc[pos..].find('>') {
                Some(j) => pos += j + 1,
                None => return Vec::new(),
            }
            continue;
        }
        break;
    }
    let mut out = Vec::new();
    if let Some(root) = parse_node(doc, &mut pos) {
        walk(&root, name, &mut out);
    }
    out
}

/// The document's root element name and its JSON form.
pub fn parse(doc: &str) -> Option<(String, Value)> {
    let mut pos = 0;
    loop {
        pos += doc[pos..].find('<')?;
        if doc[pos..].starts_with("<?") || doc[pos..].starts_with("<!") {
            pos += doc[pos..].find('>')? + 1;
            continue;
        }
        break;
    }
    let root = parse_node(doc, &mut pos)?;
    let v = to_json(&root);
    Some((root.name, v))
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_answers_become_json() {
        let doc = "<?xml version=\"1.0\"?>\n<ListRolesResponse xmlns=\"x\"><ListRolesResult><IsTruncated>false</IsTruncated><Roles><member><RoleName>a&amp;b</RoleName></member><member><RoleName>c</RoleName></member></Roles></ListRolesResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></ListRolesResponse>";
        let (root, v) = super::parse(doc).unwrap();
        assert_eq!(root, "ListRolesResponse");
        assert_eq!(v["ListRolesResult"]["Roles"][0]["RoleName"], "a&b");
        assert_eq!(v["ListRolesResult"]["Roles"][1]["RoleName"], "c");
        assert_eq!(v["ListRolesResult"]["IsTruncated"], "false");
        let listing = "<ListBucketResult><Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents></ListBucketResult>";
        let keys: Vec<_> = super::all(listing, "Contents").iter().map(|c| c["Key"].clone()).collect();
        assert_eq!(keys, ["a", "b"]);
    }
}
