/*  policy_upload.h - judging an upload's file name against a policy. */
#ifndef SECPOL_POLICY_UPLOAD_H_INCLUDED
#define SECPOL_POLICY_UPLOAD_H_INCLUDED

#include "arena.h"

#include "secpol/v1/policy.pb-c.h"

/*  Longest file name CheckFileUpload judges (after directories are
 *  stripped), in bytes: the NAME_MAX of common file systems. */
#define SECPOL_POLICY_FILENAME_MAX 255

/*  Judges a client-supplied upload name against policy's
 *  allowed_file_extensions and fills out: allowed, the normalised extension
 *  (lower case, no dot; "" when none could be found) and, when refused, the
 *  reason. filename must be non-empty (the handler refuses "" as
 *  INVALID_ARGUMENT). Strings live in arena. */
void secpol_policy_check_upload (secpol_arena_t *arena, const Secpol__V1__Policy *policy,
                                 const char *filename, Secpol__V1__CheckFileUploadResponse *out);

#endif
