#include "csimdjson.h"

#include <simdjson.h>

#include <cstring>
#include <string>
#include <vector>

struct tt_json_parser {
    simdjson::dom::parser dom;
    std::vector<char> padded;            // the line, copied with simdjson's padding after it
    std::vector<tt_json_field> fields;
    std::vector<size_t> raw_offsets;     // per field: offset into `raw`, or SIZE_MAX
    std::vector<size_t> key_offsets;     // per field: offset into `keys`, or SIZE_MAX when `key` points into the DOM
    std::string keys;                    // every field's dotted key, back to back
    std::string raw;                     // every TT_JSON_RAW value, back to back
    std::string path;                    // the key being built
    std::vector<std::string> keep_whole;
};

namespace {

constexpr size_t not_raw = SIZE_MAX;

/// Adds a field whose key is the path being built (nested), or `top_key` for a top-level member (no copy).
void add(tt_json_parser &p, tt_json_field field, size_t raw_offset, std::string_view top_key = {}, bool top = false) {
    if (top) {
        field.key = top_key.data();
        field.key_length = top_key.size();
        p.key_offsets.push_back(not_raw);
    } else {
        p.key_offsets.push_back(p.keys.size());
        field.key_length = p.path.size();
        p.keys.append(p.path);
    }
    p.raw_offsets.push_back(raw_offset);
    p.fields.push_back(field);
}

void add_raw(tt_json_parser &p, simdjson::dom::element value, std::string_view top_key = {}, bool top = false) {
    size_t offset = p.raw.size();
    p.raw.append(simdjson::minify(value));
    tt_json_field field{};
    field.kind = TT_JSON_RAW;
    field.value_length = p.raw.size() - offset;
    add(p, field, offset, top_key, top);
}

bool kept_whole(const tt_json_parser &p) {
    for (const auto &key : p.keep_whole) {
        if (key == p.path) return true;
    }
    return false;
}

void walk(tt_json_parser &p, simdjson::dom::element value, bool top, std::string_view key = {}, bool top_member = false) {
    tt_json_field field{};
    switch (value.type()) {
    case simdjson::dom::element_type::OBJECT: {
        size_t base = p.path.size();
        for (auto member : simdjson::dom::object(value)) {
            if (!top) p.path.push_back('.');
            p.path.append(member.key.data(), member.key.size());
            if (top && member.value.is_object() && kept_whole(p)) {
                add_raw(p, member.value, member.key, true);
            } else {
                walk(p, member.value, false, member.key, top);
            }
            p.path.resize(base);
        }
        return;
    }
    case simdjson::dom::element_type::ARRAY:
        return add_raw(p, value, key, top_member);
    case simdjson::dom::element_type::STRING: {
        std::string_view text = value.get_string().value_unsafe();
        field.kind = TT_JSON_STRING;
        field.value = text.data();
        field.value_length = text.size();
        break;
    }
    case simdjson::dom::element_type::INT64:
        field.kind = TT_JSON_INT;
        field.integer = value.get_int64().value_unsafe();
        break;
    case simdjson::dom::element_type::UINT64:
        field.kind = TT_JSON_DOUBLE;
        field.number = double(value.get_uint64().value_unsafe());
        break;
    case simdjson::dom::element_type::DOUBLE:
        field.kind = TT_JSON_DOUBLE;
        field.number = value.get_double().value_unsafe();
        break;
    case simdjson::dom::element_type::BOOL:
        field.kind = TT_JSON_BOOL;
        field.integer = value.get_bool().value_unsafe() ? 1 : 0;
        break;
    case simdjson::dom::element_type::NULL_VALUE:
        field.kind = TT_JSON_NULL;
        break;
    }
    add(p, field, not_raw, key, top_member);
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
        p.raw_offsets.clear();
        p.key_offsets.clear();
        p.keys.clear();
        p.raw.clear();
        p.path.clear();
        walk(p, root, root.type() == simdjson::dom::element_type::OBJECT);
        for (size_t i = 0; i < p.fields.size(); i++) {
            if (p.key_offsets[i] != not_raw) p.fields[i].key = p.keys.data() + p.key_offsets[i];
            if (p.raw_offsets[i] != not_raw) p.fields[i].value = p.raw.data() + p.raw_offsets[i];
        }
        *fields = p.fields.data();
        return int64_t(p.fields.size());
    } catch (const std::exception &exception) {
        *error = "out of memory";
        return -1;
    }
}

}
