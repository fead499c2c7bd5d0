#include "engine/policy/policy_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <tuple>

// toml++ reports syntax errors by throwing toml::parse_error; this file is the only one that
// includes it, and parse_toml() is the only place that catches, so no exception leaves here.
#include <toml++/toml.h>

#include "engine/policy/schema.hpp"

namespace keyfence::engine::policy {

namespace {

struct Reader {
    const std::string& path;
    FileRole role;
    ParseOutcome out;

    Source source_of(const toml::source_region& region) const {
        return Source{role == FileRole::Admin ? Source::Kind::Admin : Source::Kind::User, path,
                      static_cast<int>(region.begin.line), static_cast<int>(region.begin.column)};
    }
    void error(const toml::source_region& region, std::string message) {
        out.errors.push_back({path, static_cast<int>(region.begin.line),
                              static_cast<int>(region.begin.column), std::move(message)});
    }

    void read_root(const toml::table& root);
    void read_locks(const toml::node& node);
    void read_table(std::string_view table, const toml::node& node);
    void read_value(const KeySpec& spec, const toml::node& node);
};

std::string type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        default:
            return "a date or time";
    }
}

std::string keys_of(std::string_view table) {
    std::string keys;
    for (const KeySpec& spec : schema()) {
        if (spec.table == table) keys += (keys.empty() ? "" : ", ") + std::string(spec.key);
    }
    return keys;
}

void Reader::read_root(const toml::table& root) {
    for (const auto& [key, node] : root) {
        const std::string name(key.str());
        if (name == "locked") {
            read_locks(node);
        } else if (is_table(name)) {
            read_table(name, node);
        } else {
            error(key.source(), "unknown table '" + name +
                                    "' (known: tokens, algorithms, pin, mail, audit, locked)");
        }
    }
}

bool lock_target_exists(const std::string& target) {
    if (target == "*" || is_table(target)) return true;
    const auto dot = target.find('.');
    return dot != std::string::npos &&
           find_spec(std::string_view(target).substr(0, dot),
                     std::string_view(target).substr(dot + 1)) != nullptr;
}

void Reader::read_locks(const toml::node& node) {
    if (role == FileRole::User) {
        error(node.source(), "'locked' is only allowed in the administrator's policy");
        return;
    }
    const toml::array* items = node.as_array();
    if (items == nullptr) {
        error(node.source(), "'locked' must be an array of strings, not " + type_name(node));
        return;
    }
    for (const toml::node& item : *items) {
        const auto* s = item.as_string();
        if (s == nullptr) {
            error(item.source(), "'locked' entries must be strings, not " + type_name(item));
        } else if (!lock_target_exists(s->get())) {
            error(item.source(),
                  "'locked' names '" + s->get() +
                      "', which is neither a setting (table.key), a table nor \"*\"");
        } else {
            out.file.locks.emplace_back(s->get(), source_of(item.source()));
        }
    }
}

void Reader::read_table(std::string_view table, const toml::node& node) {
    const toml::table* entries = node.as_table();
    if (entries == nullptr) {
        error(node.source(),
              "'" + std::string(table) + "' must be a table, not " + type_name(node));
        return;
    }
    for (const auto& [key, value] : *entries) {
        const KeySpec* spec = find_spec(table, key.str());
        if (spec == nullptr) {
            error(key.source(), "unknown setting '" + std::string(table) + "." +
                                    std::string(key.str()) + "'; [" + std::string(table) +
                                    "] holds " + keys_of(table));
            continue;
        }
        read_value(*spec, value);
    }
}

void Reader::read_value(const KeySpec& spec, const toml::node& node) {
    const std::string wrong_type = "'" + spec.name() + "' must be " +
                                   std::string(kind_name(spec.kind)) + ", not " + type_name(node);
    Value value;
    switch (spec.kind) {
        case ValueKind::Bool:
            if (!node.is_boolean()) return error(node.source(), wrong_type);
            value = node.as_boolean()->get();
            break;
        case ValueKind::Integer:
            if (!node.is_integer()) return error(node.source(), wrong_type);
            value = node.as_integer()->get();
            break;
        case ValueKind::String:
            if (!node.is_string()) return error(node.source(), wrong_type);
            value = node.as_string()->get();
            break;
        case ValueKind::StringList: {
            const toml::array* items = node.as_array();
            if (items == nullptr) return error(node.source(), wrong_type);
            std::vector<std::string> strings;
            for (const toml::node& item : *items) {
                if (!item.is_string()) {
                    return error(
                        item.source(),
                        "'" + spec.name() + "' must hold only strings, not " + type_name(item));
                }
                strings.push_back(item.as_string()->get());
            }
            value = std::move(strings);
            break;
        }
    }
    const ValueProblem problem = check_value(spec, value);
    if (!problem.message.empty()) {
        const toml::node& at =
            problem.element >= 0 ? *node.as_array()->get(static_cast<std::size_t>(problem.element))
                                 : node;
        return error(at.source(), "'" + spec.name() + "' " + problem.message);
    }
    out.file.values[spec.name()] = {std::move(value), source_of(node.source())};
}

// toml++ quotes what it saw verbatim, newlines included; an error stays one line.
std::string one_line(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '\n') {
            out += "\\n";
        } else if (static_cast<unsigned char>(c) < 0x20) {
            out += '?';
        } else {
            out += c;
        }
    }
    return out;
}

// The one place toml++'s exception is caught.
std::optional<toml::table> parse_toml(std::string_view text, const std::string& path,
                                      std::vector<Diagnostic>& errors) {
    try {
        return toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        errors.push_back({path, static_cast<int>(e.source().begin.line),
                          static_cast<int>(e.source().begin.column),
                          "TOML syntax: " + one_line(e.description())});
        return std::nullopt;
    }
}

}  // namespace

std::string Diagnostic::format() const {
    return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

ParseOutcome parse_policy_text(std::string_view text, const std::string& path, FileRole role) {
    Reader reader{path, role, {}};
    reader.out.file.path = path;
    reader.out.file.role = role;
    if (auto root = parse_toml(text, path, reader.out.errors)) reader.read_root(*root);
    // toml++ iterates tables in key order; report in the order of the file.
    std::stable_sort(reader.out.errors.begin(), reader.out.errors.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                         return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    return std::move(reader.out);
}

base::Error diagnostics_error(const std::string& path, const std::vector<Diagnostic>& errors) {
    std::string context = "the policy file " + path + " is not valid:";
    for (const Diagnostic& d : errors) context += "\n  " + d.format();
    return base::Error(base::ErrorCode::BadInput, std::move(context),
                       "fix the file (docs/policy.md lists every setting); 'keyfence policy "
                       "check FILE' checks it");
}

base::Result<LoadedFile> load_policy_file(const std::string& path, FileRole role) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return LoadedFile{};
        // It exists but cannot be read: refusing is safer than running without the policy.
        return base::system_error(base::ErrorCode::Io, "cannot read the policy file " + path,
                                  errno);
    }
    std::string text;
    char buffer[8192];
    ssize_t n = 0;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) {
        text.append(buffer, static_cast<std::size_t>(n));
    }
    const int read_errno = errno;
    ::close(fd);
    if (n < 0) {
        return base::system_error(base::ErrorCode::Io, "cannot read the policy file " + path,
                                  read_errno);
    }
    ParseOutcome parsed = parse_policy_text(text, path, role);
    if (!parsed.errors.empty()) return diagnostics_error(path, parsed.errors);
    return LoadedFile{true, std::move(parsed.file)};
}

}  // namespace keyfence::engine::policy
