//! The AWS-managed job templates, as AWS documents them ("Managed template remote actions
//! and job documents" and the DescribeManagedJobTemplate example of the developer guide):
//! name, version, description, environments, parameters and job document, and the
//! `${aws:iot:parameter:KEY}` substitution GetJobDocument applies, and the check of a
//! job's `documentParameters` against a template. Plain data and two functions.

use std::collections::BTreeMap;

use crate::error::ApiError;

/// One `DocumentParameter` of the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Param {
    pub key: &'static str,
    pub description: &'static str,
    pub regex: &'static str,
    pub example: &'static str,
    pub optional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Managed {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    pub environments: &'static [&'static str],
    pub params: &'static [Param],
    pub document: &'static str,
}

const RUN_AS_USER: Param = Param {
    key: "runAsUser",
    description: "Execute handler as another user. If not specified, then handler is executed as the same user as device client.",
    regex: "(.){0,256}",
    example: "user1",
    optional: true,
};

const PATH_TO_HANDLER: Param = Param {
    key: "pathToHandler",
    description: "Path to handler on the device. If not specified, then device client will use the current working directory.",
    regex: "(.){0,4096}",
    example: "/path/to/handler/script",
    optional: true,
};

const PACKAGES: Param = Param {
    key: "packages",
    description: "Space separated list of packages.",
    regex: "(.)+",
    example: "package1 package2",
    optional: false,
};

const SERVICES: Param = Param {
    key: "services",
    description: "Space separated list of system services.",
    regex: "(.)+",
    example: "service1 service2",
    optional: false,
};

/// A `runHandler` document in the shape every handler-based managed template uses.
macro_rules! handler_doc {
    ($name:literal, $handler:literal) => {
        concat!(
            r#"{"version":"1.0","steps":[{"action":{"name":""#,
            $name,
            r#"","type":"runHandler","input":{"handler":""#,
            $handler,
            r#"","path":"${aws:iot:parameter:pathToHandler}"},"runAsUser":"${aws:iot:parameter:runAsUser}"}}]}"#
        )
    };
    ($name:literal, $handler:literal, $args:literal) => {
        concat!(
            r#"{"version":"1.0","steps":[{"action":{"name":""#,
            $name,
            r#"","type":"runHandler","input":{"handler":""#,
            $handler,
            r#"","args":["#,
            $args,
            r#"],"path":"${aws:iot:parameter:pathToHandler}"},"runAsUser":"${aws:iot:parameter:runAsUser}"}}]}"#
        )
    };
}

pub const TEMPLATES: &[Managed] = &[
    Managed {
        name: "AWS-Download-File",
        version: "1.0",
        description: "A managed job template for downloading a file.",
        environments: &["LINUX"],
        params: &[
            Param {
                key: "downloadUrl",
                description: "URL of file to download.",
                regex: "(.*?)",
                example: "http://www.example.com/index.html",
                optional: false,
            },
            Param {
                key: "filePath",
                description: "Path on the device where downloaded file is written.",
                regex: "(.*?)",
                example: "/path/to/file",
                optional: false,
            },
            RUN_AS_USER,
            PATH_TO_HANDLER,
        ],
        document: handler_doc!(
            "Download-File",
            "download-file.sh",
            r#""${aws:iot:parameter:downloadUrl}","${aws:iot:parameter:filePath}""#
        ),
    },
    Managed {
        name: "AWS-Install-Application",
        version: "1.0",
        description: "A managed job template for installing one or more applications.",
        environments: &["LINUX"],
        params: &[PACKAGES, RUN_AS_USER, PATH_TO_HANDLER],
        document: handler_doc!(
            "Install-Application",
            "install-packages.sh",
            r#""${aws:iot:parameter:packages}""#
        ),
    },
    Managed {
        name: "AWS-Reboot",
        version: "1.0",
        description: "A managed job template for rebooting the device.",
        environments: &["LINUX"],
        params: &[RUN_AS_USER, PATH_TO_HANDLER],
        document: handler_doc!("Reboot", "reboot.sh"),
    },
    Managed {
        name: "AWS-Remove-Application",
        version: "1.0",
        description: "A managed job template for uninstalling one or more applications.",
        environments: &["LINUX"],
        params: &[PACKAGES, RUN_AS_USER, PATH_TO_HANDLER],
        document: handler_doc!(
            "Remove-Application",
            "remove-packages.sh",
            r#""${aws:iot:parameter:packages}""#
        ),
    },
    Managed {
        name: "AWS-Restart-Application",
        version: "1.0",
        description: "A managed job template for restarting one or more system services.",
        environments: &["LINUX"],
        params: &[SERVICES, RUN_AS_USER, PATH_TO_HANDLER],
        document: handler_doc!(
            "Restart-Application",
            "restart-services.sh",
            r#""${aws:iot:parameter:services}""#
        ),
    },
    Managed {
        name: "AWS-Run-Command",
        version: "1.0",
        description: "A managed job template for executing a command.",
        environments: &["LINUX"],
        params: &[
            Param {
                key: "command",
                description: "Command to execute on the device. The command and its arguments are separated by commas.",
                regex: "(.)+",
                example: "ls,-t,/usr/bin",
                optional: false,
            },
            RUN_AS_USER,
        ],
        document: r#"{"version":"1.0","steps":[{"action":{"name":"Run-Command","type":"runCommand","input":{"command":"${aws:iot:parameter:command}"},"runAsUser":"${aws:iot:parameter:runAsUser}"}}]}"#,
    },
    Managed {
        name: "AWS-Start-Application",
        version: "1.0",
        description: "A managed job template for starting one or more system services.",
        environments: &["LINUX"],
        params: &[SERVICES, RUN_AS_USER, PATH_TO_HANDLER],
        document: handler_doc!(
            "Start-Application",
            "start-services.sh",
            r#""${aws:iot:parameter:services}""#
        ),
    },
    Managed {
        name: "AWS-Stop-Application",
        version: "1.0",
        description: "A managed job template for stopping one or more system services.",
        environments: &["LINUX"],
        params: &[SERVICES, RUN_AS_USER, PATH_TO_HANDLER],
        document: handler_doc!(
            "Stop-Application",
            "stop-services.sh",
            r#""${aws:iot:parameter:services}""#
        ),
    },
];

/// The template `name`, at `version` or its default (latest) version.
pub fn find(name: &str, version: Option<&str>) -> Option<&'static Managed> {
    TEMPLATES
        .iter()
        .filter(|t| t.name == name && version.is_none_or(|v| v == t.version))
        .max_by(|a, b| a.version.cmp(b.version))
}

/// The template a managed ARN (`arn:aws:iot:REGION::jobtemplate/NAME:VERSION`) names.
pub fn from_arn(arn: &str) -> Option<&'static Managed> {
    let res = arn.split_once("::jobtemplate/")?.1;
    let (name, version) = match res.rsplit_once(':') {
        Some((n, v)) => (n, Some(v)),
        None => (res, None),
    };
    find(name, version)
}

/// Replaces each `${aws:iot:parameter:KEY}` with its value; parameters left out (only
/// optional ones can be) become empty strings. Values are JSON-escaped, since they land
/// inside JSON strings of the document.
pub fn substitute(document: &str, params: &BTreeMap<String, String>) -> String {
    const OPEN: &str = "${aws:iot:parameter:";
    let mut out = String::with_capacity(document.len());
    let mut rest = document;
    while let Some(i) = rest.find(OPEN) {
        out.push_str(&rest[..i]);
        let after = &rest[i + OPEN.len()..];
        match after.find('}') {
            Some(j) => {
                let key = &after[..j];
                if let Some(v) = params.get(key) {
                    let quoted = serde_json::to_string(v).unwrap_or_default();
                    out.push_str(&quoted[1..quoted.len().saturating_sub(1)]);
                }
                rest = &after[j + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Checks CreateJob's `documentParameters` against a managed template: every required
/// parameter given, none unknown, each value matching its `regex`.
pub fn check_parameters(
    t: &Managed,
    given: Option<&BTreeMap<String, String>>,
) -> Result<(), ApiError> {
    let empty = BTreeMap::new();
    let given = given.unwrap_or(&empty);
    if let Some(k) = given.keys().find(|k| !t.params.iter().any(|p| p.key == *k)) {
        let known: Vec<&str> = t.params.iter().map(|p| p.key).collect();
        return Err(ApiError::invalid(format!(
            "documentParameters: {k} is not a parameter of {} (its parameters: {})",
            t.name,
            known.join(", ")
        )));
    }
    for p in t.params {
        match given.get(p.key) {
            None if !p.optional => {
                return Err(ApiError::invalid(format!(
                    "documentParameters: {} requires the parameter {} ({})",
                    t.name, p.key, p.description
                )))
            }
            Some(v) => {
                let ok = regex::Regex::new(&format!("^(?:{})$", p.regex))
                    .map(|re| re.is_match(v))
                    .unwrap_or(true);
                if !ok {
                    return Err(ApiError::invalid(format!(
                        "documentParameters.{}: the value does not match {} (for example {})",
                        p.key, p.regex, p.example
                    )));
                }
            }
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_json_and_name_their_parameters() {
        for t in TEMPLATES {
            let doc: serde_json::Value =
                serde_json::from_str(t.document).unwrap_or_else(|e| panic!("{}: {e}", t.name));
            assert_eq!(doc["version"], "1.0");
            for p in t.params {
                assert!(
                    t.document
                        .contains(&format!("${{aws:iot:parameter:{}}}", p.key)),
                    "{} does not use {}",
                    t.name,
                    p.key
                );
            }
        }
        assert!(find("AWS-Reboot", None).is_some());
        assert!(find("AWS-Reboot", Some("9.9")).is_none());
        assert_eq!(
            from_arn("arn:aws:iot:us-east-1::jobtemplate/AWS-Run-Command:1.0").map(|t| t.name),
            Some("AWS-Run-Command")
        );
        assert!(from_arn("arn:aws:iot:us-east-1::jobtemplate/AWS-Nope:1.0").is_none());
    }

    #[test]
    fn substitution_fills_values_and_empties_the_rest() {
        let t = find("AWS-Download-File", None).unwrap();
        let mut p = BTreeMap::new();
        p.insert("downloadUrl".to_owned(), "https://e.com/a\"b".to_owned());
        p.insert("filePath".to_owned(), "/tmp/x".to_owned());
        let doc: serde_json::Value = serde_json::from_str(&substitute(t.document, &p)).unwrap();
        let input = &doc["steps"][0]["action"]["input"];
        assert_eq!(input["args"][0], "https://e.com/a\"b");
        assert_eq!(input["args"][1], "/tmp/x");
        assert_eq!(input["path"], "");
        assert_eq!(doc["steps"][0]["action"]["runAsUser"], "");
    }
}
