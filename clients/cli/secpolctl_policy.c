/*  secpolctl_policy.c - placeholder for `secpolctl policy ...`.
 *
 *  The policy commands are written with PolicyService; this stub only
 *  lets secpolctl link until then.
 */
#include "secpolctl.h"

#include <stdio.h>

int
secpolctl_policy (secpol_client_t *client, int argc, char **argv)
{
    (void)client;
    (void)argc;
    (void)argv;
    fprintf (stderr, "policy commands: not built yet\n");
    return SECPOLCTL_EXIT_USAGE;
}
