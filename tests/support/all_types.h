/*  all_types.h - a message with every protobuf field kind, described by hand
 *  as protoc-c would, for the JSON mapping's unit test and fuzz target.
 *  Call secpol_test_all_types_init() once before using the descriptor. */
#ifndef SECPOL_TEST_ALL_TYPES_H_INCLUDED
#define SECPOL_TEST_ALL_TYPES_H_INCLUDED

#include "secpol/v1/policy.pb-c.h"

#include <protobuf-c/protobuf-c.h>

typedef struct {
    ProtobufCMessage base;
    int32_t i32;
    int64_t i64;
    uint32_t u32;
    uint64_t u64;
    int32_t s32;
    int64_t s64;
    uint32_t fx32;
    uint64_t fx64;
    int32_t sf32;
    int64_t sf64;
    float float_value;
    double double_value;
    protobuf_c_boolean flag;
    int level;
    char *text;
    ProtobufCBinaryData blob;
    Secpol__V1__LockoutSettings *lockout;
    protobuf_c_boolean has_maybe_count;
    int32_t maybe_count;
    uint32_t choice_case;
    union {
        char *choice_text;
        int32_t choice_number;
    };
    size_t n_numbers;
    int32_t *numbers;
    size_t n_blobs;
    ProtobufCBinaryData *blobs;
    size_t n_lockouts;
    Secpol__V1__LockoutSettings **lockouts;
    size_t n_levels;
    int *levels;
    size_t n_reals;
    double *reals;
    size_t n_words;
    char **words;
    char *maybe_text;
} all_types_t;

extern const ProtobufCMessageDescriptor secpol_test_all_types_descriptor;

/*  Sorts the field-name index of the descriptor. Idempotent. */
void secpol_test_all_types_init (void);

#endif
