/*  stats.c - see stats.h. */
#include "stats.h"

#include <string.h>

int
secpol_stats_collect (secpol_server_t *server, secpol_txn_t *txn, secpol_stats_t *out)
{
    memset (out, 0, sizeof *out);
    secpol_txn_t *own = NULL;
    if (!txn) {
        int rc = secpol_txn_begin (secpol_server_store (server), NULL, false, &own);
        if (rc)
            return rc;
        txn = own;
    }
    int rc = secpol_store_stats (txn, &out->store);
    secpol_txn_abort (&own);
    if (rc)
        return rc;
    secpol_server_lanes_stats (server, &out->writes);
    out->started_at = secpol_server_started_at (server);
    return 0;
}
