/*  policy.h - the effective workspace policy, for every service that obeys it.
 *
 *  The effective policy of a workspace (or of one community in it) is the
 *  defaults, overridden by what the workspace level sets, overridden by what
 *  the community level sets (see docs/POLICY.md). Token, session, lockout,
 *  OTP and password handlers include this one header and read the policy
 *  with secpol_policy_effective() inside the transaction the dispatcher gave
 *  them; only PolicyService writes it.
 *
 *  The rendering of security headers and the upload-name check are pure
 *  functions of a policy, so that callers and tests can use them without a
 *  store. Each part is declared in the header of the file that defines it.
 */
#ifndef SECPOL_POLICY_H_INCLUDED
#define SECPOL_POLICY_H_INCLUDED

#include "policy_headers.h"
#include "policy_store.h"
#include "policy_upload.h"

#endif
