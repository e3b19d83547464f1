//! The rules a diagnostic can break, as a closed set: each has a stable code (`schema/type`) that
//! users, docs/manifest.md and tests refer to. Code compares rules, never their text.

use std::fmt;

use serde::Serialize;

macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// One rule of manifest validation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Rule {
            $($(#[$doc])* $variant,)*
        }

        impl Rule {
            /// The stable code, `family/name`.
            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }
        }
    };
}

rules! {
    FileUnreadable => "file/unreadable",
    FileTooLarge => "file/too-large",
    FileNotText => "file/not-text",
    FileSymlinkEscape => "file/symlink-escape",
    /// A FIFO, socket, device or directory where a manifest or document file was expected.
    FileNotRegular => "file/not-regular",
    /// Stands for the problems of one file past the per-file cap; carries their counts.
    FileTooManyProblems => "file/too-many-problems",
    /// jobctl failed while checking the file (a bug); the file counts as broken.
    FileInternalError => "file/internal-error",
    YamlSyntax => "yaml/syntax",
    YamlDuplicateKey => "yaml/duplicate-key",
    YamlAliasExpansion => "yaml/alias-expansion",
    YamlDepth => "yaml/depth",
    YamlTag => "yaml/tag",
    YamlTooManyNodes => "yaml/too-many-nodes",
    YamlMergeKey => "yaml/merge-key",
    ManifestEmpty => "manifest/empty",
    ManifestNotAMap => "manifest/not-a-map",
    ManifestApiVersion => "manifest/api-version",
    ManifestKind => "manifest/kind",
    ManifestInvalid => "manifest/invalid",
    SchemaUnknownField => "schema/unknown-field",
    SchemaMissingField => "schema/missing-field",
    SchemaType => "schema/type",
    SchemaEnum => "schema/enum",
    SchemaConst => "schema/const",
    SchemaPattern => "schema/pattern",
    SchemaMinLength => "schema/min-length",
    SchemaMaxLength => "schema/max-length",
    SchemaRange => "schema/range",
    SchemaMinItems => "schema/min-items",
    SchemaMaxItems => "schema/max-items",
    SchemaMinProperties => "schema/min-properties",
    SchemaKey => "schema/key",
    SchemaTarget => "schema/target",
    SchemaInvalid => "schema/invalid",
    SemanticDocumentMissing => "semantic/document-missing",
    SemanticDocumentConflict => "semantic/document-conflict",
    SemanticDocumentSize => "semantic/document-size",
    SemanticPresignedRole => "semantic/presigned-role",
    SemanticSubstitutions => "semantic/substitutions",
    SemanticDecimalPlaces => "semantic/decimal-places",
    SemanticScheduleTime => "semantic/schedule-time",
    SemanticScheduleWindow => "semantic/schedule-window",
    SemanticEndBehavior => "semantic/end-behavior",
    SemanticCron => "semantic/cron",
    SemanticReservedTag => "semantic/reserved-tag",
    /// A tag key starting with `aws:`, which AWS reserves.
    SemanticAwsTag => "semantic/aws-tag",
    SemanticTooManyTags => "semantic/too-many-tags",
    SemanticDuplicateTarget => "semantic/duplicate-target",
    SemanticDuplicateJob => "semantic/duplicate-job",
    SemanticDuplicateTemplate => "semantic/duplicate-template",
    SemanticDocumentParameters => "semantic/document-parameters",
    SemanticJobTemplateConflict => "semantic/job-template-conflict",
    DocumentFileMissing => "document-file/missing",
    DocumentFileEscapesRoot => "document-file/escapes-root",
    DocumentFileSymlinkEscape => "document-file/symlink-escape",
    DocumentFileUnreadable => "document-file/unreadable",
    DocumentFileInvalidJson => "document-file/invalid-json",
    DocumentFileNotOneDocument => "document-file/not-one-document",
    DocumentFileNotAMap => "document-file/not-a-map",
    DocumentFileIsAManifest => "document-file/is-a-manifest",
    /// A key repeated in one object of a JSON document file.
    DocumentFileDuplicateKey => "document-file/duplicate-key",
    /// A number in a JSON document file that parsers read differently (beyond ±2^53, or more
    /// digits than a double keeps).
    DocumentFileAmbiguousNumber => "document-file/ambiguous-number",
    /// A decimal with trailing zeros in a JSON document file (a warning).
    DocumentFileTrailingZeros => "document-file/trailing-zeros",
    /// A rollout's `spec.job` sets `targets` or `targetSelection`.
    RolloutJobTargets => "rollout/job-targets",
    RolloutDuplicateStage => "rollout/duplicate-stage",
    /// A gate with neither `minSucceeded` nor `maxFailureRate`.
    RolloutGateThreshold => "rollout/gate-threshold",
    /// A stage whose targets are all in earlier stages: it would start nothing.
    RolloutStageAddsNothing => "rollout/stage-adds-nothing",
    RolloutTooManyTargets => "rollout/too-many-targets",
    RolloutDuration => "rollout/duration",
    /// User tags plus jobctl's state tags would pass AWS's 50 per resource.
    RolloutTooManyTags => "rollout/too-many-tags",
    /// A plain scalar in a job document whose JSON differs from its text (a warning).
    DocumentUnquotedScalar => "document/unquoted-scalar",
}

impl Rule {
    /// Rules about the manifest's envelope (`apiVersion`, `kind`, its shape), which decide
    /// whether the document is a Job manifest at all.
    pub fn is_envelope(self) -> bool {
        matches!(
            self,
            Self::ManifestEmpty
                | Self::ManifestNotAMap
                | Self::ManifestApiVersion
                | Self::ManifestKind
                | Self::ManifestInvalid
        )
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}
