/*  all_types.c - see all_types.h. */
#include "all_types.h"

#include <stdlib.h>
#include <string.h>

#define S_FIELD(name_, id_, label_, type_, quantifier_, member_, descriptor_, default_, flags_)    \
    {                                                                                              \
        name_, id_, PROTOBUF_C_LABEL_##label_, PROTOBUF_C_TYPE_##type_, quantifier_,               \
            offsetof (all_types_t, member_), descriptor_, default_, flags_, 0, NULL, NULL          \
    }
#define S_SCALAR(name, id, type, member) S_FIELD (name, id, NONE, type, 0, member, NULL, NULL, 0)
#define S_REPEATED(name, id, type, member, descriptor, flags)                                      \
    S_FIELD (name, id, REPEATED, type, offsetof (all_types_t, n_##member), member, descriptor,     \
             NULL, flags)

static const ProtobufCFieldDescriptor s_all_fields[] = {
    S_SCALAR ("i32", 1, INT32, i32),
    S_SCALAR ("i64", 2, INT64, i64),
    S_SCALAR ("u32", 3, UINT32, u32),
    S_SCALAR ("u64", 4, UINT64, u64),
    S_SCALAR ("s32", 5, SINT32, s32),
    S_SCALAR ("s64", 6, SINT64, s64),
    S_SCALAR ("fx32", 7, FIXED32, fx32),
    S_SCALAR ("fx64", 8, FIXED64, fx64),
    S_SCALAR ("sf32", 9, SFIXED32, sf32),
    S_SCALAR ("sf64", 10, SFIXED64, sf64),
    S_SCALAR ("float_value", 11, FLOAT, float_value),
    S_SCALAR ("double_value", 12, DOUBLE, double_value),
    S_SCALAR ("flag", 13, BOOL, flag),
    S_FIELD ("level", 14, NONE, ENUM, 0, level, &secpol__v1__password_policy_level__descriptor,
             NULL, 0),
    S_FIELD ("text", 15, NONE, STRING, 0, text, NULL, &protobuf_c_empty_string, 0),
    S_SCALAR ("blob", 16, BYTES, blob),
    S_FIELD ("lockout", 17, NONE, MESSAGE, 0, lockout, &secpol__v1__lockout_settings__descriptor,
             NULL, 0),
    S_FIELD ("maybe_count", 18, OPTIONAL, INT32, offsetof (all_types_t, has_maybe_count),
             maybe_count, NULL, NULL, 0),
    S_FIELD ("choice_text", 19, NONE, STRING, offsetof (all_types_t, choice_case), choice_text,
             NULL, &protobuf_c_empty_string, PROTOBUF_C_FIELD_FLAG_ONEOF),
    S_FIELD ("choice_number", 20, NONE, INT32, offsetof (all_types_t, choice_case), choice_number,
             NULL, NULL, PROTOBUF_C_FIELD_FLAG_ONEOF),
    S_REPEATED ("numbers", 21, INT32, numbers, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    S_REPEATED ("blobs", 22, BYTES, blobs, NULL, 0),
    S_REPEATED ("lockouts", 23, MESSAGE, lockouts, &secpol__v1__lockout_settings__descriptor, 0),
    S_REPEATED ("levels", 24, ENUM, levels, &secpol__v1__password_policy_level__descriptor,
                PROTOBUF_C_FIELD_FLAG_PACKED),
    S_REPEATED ("reals", 25, DOUBLE, reals, NULL, PROTOBUF_C_FIELD_FLAG_PACKED),
    S_REPEATED ("words", 26, STRING, words, NULL, 0),
    S_FIELD ("maybe_text", 27, OPTIONAL, STRING, 0, maybe_text, NULL, NULL, 0),
};
#define S_N_FIELDS (sizeof s_all_fields / sizeof s_all_fields[0])

static unsigned s_all_by_name[S_N_FIELDS];
static const ProtobufCIntRange s_all_ranges[] = {{1, 0}, {0, S_N_FIELDS}};

static void
s_all_init (ProtobufCMessage *message)
{
    static const all_types_t init = {
        .base = PROTOBUF_C_MESSAGE_INIT (NULL),
        .text = (char *)protobuf_c_empty_string,
    };
    all_types_t *all = (all_types_t *)message;
    *all = init;
    all->base.descriptor = &secpol_test_all_types_descriptor;
}

const ProtobufCMessageDescriptor secpol_test_all_types_descriptor = {
    PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    "secpol.test.AllTypes",
    "AllTypes",
    "Secpol__Test__AllTypes",
    "secpol.test",
    sizeof (all_types_t),
    S_N_FIELDS,
    s_all_fields,
    s_all_by_name,
    1,
    s_all_ranges,
    s_all_init,
    NULL,
    NULL,
    NULL,
};

static int
s_by_name (const void *a, const void *b)
{
    return strcmp (s_all_fields[*(const unsigned *)a].name,
                   s_all_fields[*(const unsigned *)b].name);
}

void
secpol_test_all_types_init (void)
{
    for (unsigned i = 0; i < S_N_FIELDS; i++)
        s_all_by_name[i] = i;
    qsort (s_all_by_name, S_N_FIELDS, sizeof s_all_by_name[0], s_by_name);
}
