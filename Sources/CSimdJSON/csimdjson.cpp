#include "csimdjson.h"

#include <simdjson.h>

#include <cstring>
#include <string>
#include <vector>

struct tt_json_parser {
    simdjson::dom::parser dom;
    std::vector<char> padded;            // the line, copied with simdjson's padding after it
    std::vector<tt_json_field> fields;
    // Offsets into `keys` / `raw` of fields whose key or value had to be built, fixed into pointers at the end
    // (the buffers may move while they grow).
    std::vector<std::pair<size_t, size_t>> built_keys;
    std::vector<std::pair<size_t, size_t>> built_values;
    std::string keys;                    // dotted keys of nested fields, back to back
    std::string raw;                     // minified JSON of arrays and kept-whole objects, and the text of
                                         // integers above INT64_MAX, back to back
    std::string path;                    // the dotted prefix while inside a nested object
    std::vector<std::string> keep_whole;
};

namespace {

bool kept_whole(const tt_json_parser &p, std::string_view key) {
    for (const auto &candidate : p.keep_whole) {
        if (candidate == key) return true;
    }
    return false;
}

/// Appends a zeroed field named `key` (top level, pointing into the DOM) or, when `nested`, the current path. The
/// caller fills the value in place (a field built on the stack and copied in stalls on the copy).
tt_json_field &push(tt_json_parser &p, std::string_view key, bool nested) {
    tt_json_field &field = p.fields.emplace_back();
    if (nested) {
        p.built_keys.emplace_back(p.fields.size() - 1, p.keys.size());
        field.key_length = p.path.size();
        p.keys.append(p.path);
    } else {
        field.key = key.data();
        field.key_length = key.size();
    }
    return field;
}

/// Appends a field whose value text had to be built (into `raw`): minified JSON, or a number's decimal text.
void add_built(tt_json_parser &p, std::string_view text, tt_json_kind kind, std::string_view key, bool nested) {
    size_t offset = p.raw.size();
    p.raw.append(text);
    p.built_values.emplace_back(p.fields.size(), offset);
    tt_json_field &field = push(p, key, nested);
    field.kind = kind;
    field.value_length = text.size();
}

void add_raw(tt_json_parser &p, simdjson::dom::element value, std::string_view key, bool nested) {
    add_built(p, simdjson::minify(value), TT_JSON_RAW, key, nested);
}

void walk(tt_json_parser &p, simdjson::dom::element value, std::string_view key, bool nested);

/// The members of a nested object, under `path`.
void walk_object(tt_json_parser &p, simdjson::dom::object object) {
    size_t base = p.path.size();
    for (auto member : object) {
        p.path.push_back('.');
        p.path.append(member.key.data(), member.key.size());
        walk(p, member.value, {}, true);
        p.path.resize(base);
    }
}

void walk(tt_json_parser &p, simdjson::dom::element value, std::string_view key, bool nested) {
    switch (value.type()) {
    case simdjson::dom::element_type::OBJECT:
        if (!nested && kept_whole(p, key)) return add_raw(p, value, key, false);
        if (!nested) p.path.assign(key.data(), key.size());
        return walk_object(p, simdjson::dom::object(value));
    case simdjson::dom::element_type::ARRAY:
        return add_raw(p, value, key, nested);
    case simdjson::dom::element_type::STRING: {
        std::string_view text = value.get_string().value_unsafe();
        tt_json_field &field = push(p, key, nested);
        field.kind = TT_JSON_STRING;
        field.value = text.data();
        field.value_length = text.size();
        return;
    }
    case simdjson::dom::element_type::INT64: {
        tt_json_field &field = push(p, key, nested);
        field.kind = TT_JSON_INT;
        field.integer = value.get_int64().value_unsafe();
        return;
    }
    case simdjson::dom::element_type::UINT64:
        // Above INT64_MAX: its exact decimal text, as a string (a double would lose the last digits).
        return add_built(p, std::to_string(value.get_uint64().value_unsafe()), TT_JSON_STRING, key, nested);
    case simdjson::dom::element_type::DOUBLE: {
        tt_json_field &field = push(p, key, nested);
        field.kind = TT_JSON_DOUBLE;
        field.number = value.get_double().value_unsafe();
        return;
    }
    case simdjson::dom::element_type::BOOL: {
        tt_json_field &field = push(p, key, nested);
        field.kind = TT_JSON_BOOL;
        field.integer = value.get_bool().value_unsafe() ? 1 : 0;
        return;
    }
    case simdjson::dom::element_type::NULL_VALUE:
        push(p, key, nested).kind = TT_JSON_NULL;
        return;
    }
}

} // namespace

extern "C" {

tt_json_parser *tt_json_parser_create(void) {
    try {
        return new tt_json_parser();
    } catch (...) {
        return nullptr;
    }
}

void tt_json_parser_destroy(tt_json_parser *parser) { delete parser; }

void tt_json_parser_keep_whole(tt_json_parser *parser, const char *key, size_t key_length) {
    parser->keep_whole.emplace_back(key, key_length);
}

int64_t tt_json_parse(tt_json_parser *parser, const char *data, size_t length,
                      const tt_json_field **fields, const char **error) {
    try {
        tt_json_parser &p = *parser;
        if (p.padded.size() < length + simdjson::SIMDJSON_PADDING) p.padded.resize(length + simdjson::SIMDJSON_PADDING);
        std::memcpy(p.padded.data(), data, length);
        simdjson::dom::element root;
        auto result = p.dom.parse(p.padded.data(), length, false).get(root);
        if (result != simdjson::SUCCESS) {
            *error = simdjson::error_message(result);
            return -1;
        }
        p.fields.clear();
        p.built_keys.clear();
        p.built_values.clear();
        p.keys.clear();
        p.raw.clear();
        if (root.type() == simdjson::dom::element_type::OBJECT) {
            for (auto member : simdjson::dom::object(root)) walk(p, member.value, member.key, false);
        } else {
            walk(p, root, {}, false); // not an object: one field with an empty key
        }
        for (auto [index, offset] : p.built_keys) p.fields[index].key = p.keys.data() + offset;
        for (auto [index, offset] : p.built_values) p.fields[index].value = p.raw.data() + offset;
        *fields = p.fields.data();
        return int64_t(p.fields.size());
    } catch (const std::exception &exception) {
        *error = "out of memory";
        return -1;
    }
}

}
