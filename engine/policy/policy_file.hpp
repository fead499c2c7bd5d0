#pragma once
// Reading one policy file (the administrator's or the user's) against the schema. Every
// problem — TOML syntax, an unknown table or key, a wrong type, a bad value, a lock in the
// user's file — is reported with file:line:column; nothing is silently ignored.

#include <map>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "engine/policy/setting.hpp"

namespace keyfence::engine::policy {

enum class FileRole { Admin, User };

struct PolicyFile {
    std::string path;
    FileRole role = FileRole::Admin;
    /// "table.key" -> the value and where it was written.
    std::map<std::string, std::pair<Value, Source>> values;
    /// The administrator's `locked` entries: "table.key", "table" or "*", with their position.
    std::vector<std::pair<std::string, Source>> locks;
};

struct Diagnostic {
    std::string file;
    int line = 0;
    int column = 0;
    std::string message;
    /// "file:line:column: message"
    std::string format() const;
};

struct ParseOutcome {
    PolicyFile file;
    std::vector<Diagnostic> errors;  ///< empty when the file is good
};

/// Parses `text` as the policy file `path` in `role`. Never throws.
ParseOutcome parse_policy_text(std::string_view text, const std::string& path, FileRole role);

/// Reads and parses the file at `path`. A missing file is reported as `present = false` with
/// no error; a file that exists but cannot be read is an Io error (fail closed). A file with
/// problems is a BadInput error whose context lists every diagnostic, one per line.
struct LoadedFile {
    bool present = false;
    PolicyFile file;
};
base::Result<LoadedFile> load_policy_file(const std::string& path, FileRole role);

/// One error for a list of diagnostics (BadInput; the context holds one per line).
base::Error diagnostics_error(const std::string& path, const std::vector<Diagnostic>& errors);

}  // namespace keyfence::engine::policy
