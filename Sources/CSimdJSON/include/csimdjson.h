// A small C API over simdjson's DOM parser: one call parses a log line and returns its fields flattened.
#ifndef CSIMDJSON_H
#define CSIMDJSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TT_JSON_NULL = 0,
    TT_JSON_BOOL = 1,   // in `integer`: 0 or 1
    TT_JSON_INT = 2,    // in `integer`
    TT_JSON_DOUBLE = 3, // in `number`
    TT_JSON_STRING = 4, // unescaped UTF-8 in `value`/`value_length`; also an integer above INT64_MAX, as its decimal text
    TT_JSON_RAW = 5     // minified JSON text of an array, or of a value kept whole, in `value`/`value_length`
} tt_json_kind;

typedef struct {
    const char *key;    // dotted path, not NUL-terminated; empty for a document that is not an object
    size_t key_length;
    const char *value;
    size_t value_length;
    int64_t integer;
    double number;
    tt_json_kind kind;
} tt_json_field;

typedef struct tt_json_parser tt_json_parser;

tt_json_parser *tt_json_parser_create(void);
void tt_json_parser_destroy(tt_json_parser *parser);

/// Top-level keys whose object values are returned whole as TT_JSON_RAW instead of being flattened.
void tt_json_parser_keep_whole(tt_json_parser *parser, const char *key, size_t key_length);

/// Parses one JSON document. Objects are flattened into dotted keys, arrays come as minified JSON text.
/// Returns the number of fields in *fields (valid until the next call), or -1 with *error set to a static message.
int64_t tt_json_parse(tt_json_parser *parser, const char *data, size_t length,
                      const tt_json_field **fields, const char **error);

#ifdef __cplusplus
}
#endif

#endif
