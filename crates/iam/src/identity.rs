//! A verified caller: who signed a request, as policies see it.

use crate::policy::ContextKeys;

/// The identity behind a verified request or an AssumeRole call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// An IAM user, `arn:aws:iam::<account>:user/<name>`.
    User {
        account: String,
        name: String,
        user_id: String,
        arn: String,
    },
    /// A role session, `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    AssumedRole {
        account: String,
        role_name: String,
        role_id: String,
        role_arn: String,
        session_name: String,
        session_arn: String,
    },
    /// An AWS service principal such as `sagemaker.amazonaws.com` (used by the control plane).
    Service { name: String },
}

impl Identity {
    /// The caller's ARN as AWS reports it (`GetCallerIdentity`, AccessDenied messages); a service
    /// principal reports its name.
    pub fn arn(&self) -> &str {
        match self {
            Identity::User { arn, .. } => arn,
            Identity::AssumedRole { session_arn, .. } => session_arn,
            Identity::Service { name } => name,
        }
    }

    pub fn account(&self) -> Option<&str> {
        match self {
            Identity::User { account, .. } | Identity::AssumedRole { account, .. } => Some(account),
            Identity::Service { .. } => None,
        }
    }

    /// `aws:PrincipalArn`: the user ARN, or the role ARN (not the session) for a role session.
    pub fn principal_arn(&self) -> Option<&str> {
        match self {
            Identity::User { arn, .. } => Some(arn),
            Identity::AssumedRole { role_arn, .. } => Some(role_arn),
            Identity::Service { .. } => None,
        }
    }

    /// Does a `Principal: {"AWS": entry}` value name this identity? An account id or
    /// `arn:aws:iam::ACCT:root` names every identity of that account; otherwise the match is exact
    /// (a role ARN also names its sessions; a wildcard never stands for sessions).
    pub fn matches_aws_principal(&self, entry: &str) -> bool {
        let Some(account) = self.account() else {
            return false;
        };
        if let Some(acct) = account_principal(entry) {
            return acct == account;
        }
        match self {
            Identity::User { arn, .. } => entry == arn,
            Identity::AssumedRole {
                role_arn,
                session_arn,
                ..
            } => entry == role_arn || entry == session_arn,
            Identity::Service { .. } => false,
        }
    }

    /// Does a `Principal: {"Service": entry}` value name this identity?
    pub fn matches_service_principal(&self, entry: &str) -> bool {
        matches!(self, Identity::Service { name } if name == entry)
    }

    /// The global condition keys this identity sets: `aws:PrincipalArn`, `aws:PrincipalAccount`,
    /// `aws:userid`, `aws:username` (users only), `aws:PrincipalType`.
    pub fn context_keys(&self) -> ContextKeys {
        let mut keys = ContextKeys::new();
        match self {
            Identity::User {
                account,
                name,
                user_id,
                arn,
            } => {
                keys.insert("aws:PrincipalArn", arn);
                keys.insert("aws:PrincipalAccount", account);
                keys.insert("aws:username", name);
                keys.insert("aws:userid", user_id);
                keys.insert("aws:PrincipalType", "User");
            }
            Identity::AssumedRole {
                account,
                role_arn,
                role_id,
                session_name,
                ..
            } => {
                keys.insert("aws:PrincipalArn", role_arn);
                keys.insert("aws:PrincipalAccount", account);
                keys.insert("aws:userid", &format!("{role_id}:{session_name}"));
                keys.insert("aws:PrincipalType", "AssumedRole");
            }
            Identity::Service { name } => {
                keys.insert("aws:PrincipalServiceName", name);
                keys.insert("aws:PrincipalType", "Service");
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Identity {
        Identity::AssumedRole {
            account: "111122223333".into(),
            role_name: "ef".into(),
            role_id: "AROAEXAMPLE".into(),
            role_arn: "arn:aws:iam::111122223333:role/ef".into(),
            session_name: "snowflake".into(),
            session_arn: "arn:aws:sts::111122223333:assumed-role/ef/snowflake".into(),
        }
    }

    #[test]
    fn principal_matching_is_exact_except_accounts() {
        let s = session();
        assert!(s.matches_aws_principal("111122223333"));
        assert!(s.matches_aws_principal("arn:aws:iam::111122223333:root"));
        assert!(!s.matches_aws_principal("arn:aws:iam::999988887777:root"));
        assert!(s.matches_aws_principal("arn:aws:iam::111122223333:role/ef"));
        assert!(s.matches_aws_principal("arn:aws:sts::111122223333:assumed-role/ef/snowflake"));
        assert!(!s.matches_aws_principal("arn:aws:sts::111122223333:assumed-role/ef/*"));
        assert_eq!(
            s.context_keys().get("AWS:PRINCIPALARN").unwrap(),
            ["arn:aws:iam::111122223333:role/ef"]
        );
        assert!(s.context_keys().get("aws:username").is_none());
    }
}

/// The account an account-wide principal entry (`123456789012` or `arn:aws:iam::ACCT:root`)
/// names, or `None` when the entry names one identity.
pub fn account_principal(entry: &str) -> Option<&str> {
    if entry.len() == 12 && entry.bytes().all(|b| b.is_ascii_digit()) {
        return Some(entry);
    }
    entry.strip_prefix("arn:aws:iam::").and_then(|r| r.strip_suffix(":root"))
}

