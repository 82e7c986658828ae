/*  secpolctl_admin.c - `secpolctl stats` and `secpolctl backup PATH`:
 *  AdminService, for operators (the admin role).
 *
 *  stats prints GetStats: entries per table, map size and use, free pages,
 *  the file and the disk, reader slots, the last commit and batch sizes.
 *  backup asks secpold to write a compacted copy of its store, with its
 *  secret.key, into PATH on secpold's host (docs/OPERATIONS.md); it waits
 *  up to 10 minutes for the copy (or --timeout when that is longer).
 */
#include "secpolctl.h"
#include "secpolctl_internal.h"

#include "secpol/secpol_status.h"
#include "secpol/v1/admin.pb-c.h"

#include <stdio.h>

#define S_BACKUP_TIMEOUT_MS (10 * 60 * 1000)

int
secpolctl_run_stats (const secpolctl_command_t *command, secpol_client_t *client, int argc,
                     char **argv)
{
    (void)command, (void)argc, (void)argv;
    Secpol__V1__GetStatsRequest request = SECPOL__V1__GET_STATS_REQUEST__INIT;
    ProtobufCMessage *response = NULL;
    int code =
        secpol_client_call (client, "/secpol.v1.AdminService/GetStats", &request.base, &response);
    code = secpolctl_print_response (client, code, response);
    protobuf_c_message_free_unpacked (response, NULL);
    return code;
}

int
secpolctl_run_backup (const secpolctl_command_t *command, secpol_client_t *client, int argc,
                      char **argv)
{
    (void)command, (void)argc;
    int timeout = secpol_client_timeout (client);
    if (timeout > 0 && timeout < S_BACKUP_TIMEOUT_MS)
        secpol_client_set_timeout (client, S_BACKUP_TIMEOUT_MS);
    Secpol__V1__BackupRequest request = SECPOL__V1__BACKUP_REQUEST__INIT;
    request.path = argv[0];
    ProtobufCMessage *response = NULL;
    int code =
        secpol_client_call (client, "/secpol.v1.AdminService/Backup", &request.base, &response);
    code = secpolctl_print_response (client, code, response);
    protobuf_c_message_free_unpacked (response, NULL);
    return code;
}
