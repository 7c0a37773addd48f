"""Signs requests with botocore's SigV4Auth for the Rust verifier test.

Reads JSON from stdin: {"url", "body", "service", "region", "creds": {name: {access_key_id,
secret, token?, extra_headers?}}}; prints {name: {method, url, headers: [[k, v]...], body}}.
Secrets travel on stdin, never on the command line.
"""
import json
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

spec = json.load(sys.stdin)
out = {}
for name, c in spec["creds"].items():
    creds = Credentials(c["access_key_id"], c["secret"], c.get("token"))
    headers = {"Content-Type": "application/json", "X-Custom": "one"}
    headers.update(c.get("extra_headers", {}))
    req = AWSRequest(method="POST", url=spec["url"], data=spec["body"].encode("utf-8"), headers=headers)
    SigV4Auth(creds, spec["service"], spec["region"]).add_auth(req)
    prepared = req.prepare()
    out[name] = {
        "method": prepared.method,
        "url": prepared.url,
        "headers": [[k, v] for k, v in prepared.headers.items()],
        "body": spec["body"],
    }
print(json.dumps(out))
