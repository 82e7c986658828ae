/*  echo.c - secpol-echo: the raw transport, as a server that does nothing.
 *
 *  One thread, one ZeroMQ ROUTER socket: it receives a call and answers it
 *  at once, OK with an empty body. bench/run starts it beside its secpold and
 *  runs the same secpol-bench scenarios (same clients x depth, same kind of
 *  endpoint) against both, so secpold's calls/s over the echo's says what the
 *  front end, the lanes and the handlers cost on top of libzmq and the
 *  client. Issue 6 sets the targets: Health/Check >= 0.5, GetPolicy >= 0.4.
 *
 *  Wire (as secpold's): a request is [routing id][empty][RequestHeader][body],
 *  the reply [routing id][empty][ResponseHeader][body]. The echo decodes only
 *  the request header, for its call_id; the routing id and the delimiter are
 *  the received frames, moved back out by zmq_msg_send; the reply header
 *  carries the call_id and code 0 (OK); the body is empty, which decodes as
 *  the all-default response. secpol-bench --echo-endpoint therefore judges
 *  the echo's replies by their status alone. Requests of another shape are
 *  dropped, and counted.
 *
 *  Usage: secpol-echo --endpoint E. Says "secpol-echo: listening on E" on
 *  stderr once bound; stops on SIGTERM or SIGINT with exit status 0 and
 *  prints what it answered. Exit status 1 on a socket error, 2 on usage.
 */
#include "secpol/v1/rpc.pb-c.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#define S_PARTS       4                 /* routing id, delimiter, header, body */
#define S_MAX_MESSAGE (4 * 1024 * 1024) /* ZMQ_MAXMSGSIZE, as secpold's ROUTER */
#define S_HWM         100000            /* send and receive high-water marks, as secpold's */
#define S_MAX_HEADER  16                /* a ResponseHeader with only call_id: <= 11 bytes */
#define S_WAKE_MS     100               /* a blocking receive returns this often to see a stop */

static volatile sig_atomic_t s_stop;

static void s_on_signal (int signal_number);
static int s_echo_one (void *router);

int
main (int argc, char **argv)
{
    const char *endpoint = NULL;
    static const struct option options[] = {
        {"endpoint", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int option;
    while ((option = getopt_long (argc, argv, "e:h", options, NULL)) != -1) {
        if (option == 'e')
            endpoint = optarg;
        else {
            fprintf (option == 'h' ? stdout : stderr,
                     "usage: secpol-echo --endpoint E\n"
                     "Answers every secpol call at once with OK and an empty body, on one\n"
                     "thread: the raw-transport baseline of bench/run (bench/README.md).\n");
            return option == 'h' ? 0 : 2;
        }
    }
    if (!endpoint || optind < argc) {
        fprintf (stderr, "secpol-echo: --endpoint E is required, and nothing else\n");
        return 2;
    }

    /* No SA_RESTART: a signal makes the blocking receive return EINTR (and
     * one that comes just before it is seen within S_WAKE_MS). */
    struct sigaction action = {.sa_handler = s_on_signal};
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);

    int status = 1;
    uint64_t answered = 0, dropped = 0;
    void *context = zmq_ctx_new ();
    void *router = context ? zmq_socket (context, ZMQ_ROUTER) : NULL;
    if (!router)
        goto done;
    int64_t max_message = S_MAX_MESSAGE;
    int hwm = S_HWM, linger = 0, wake_ms = S_WAKE_MS;
    if (zmq_setsockopt (router, ZMQ_MAXMSGSIZE, &max_message, sizeof max_message) != 0 ||
        zmq_setsockopt (router, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt (router, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt (router, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt (router, ZMQ_RCVTIMEO, &wake_ms, sizeof wake_ms) != 0 ||
        zmq_bind (router, endpoint) != 0)
        goto done;
    fprintf (stderr, "secpol-echo: listening on %s\n", endpoint);

    while (!s_stop) {
        int rc = s_echo_one (router);
        if (rc < 0 && errno != EINTR && errno != EAGAIN)
            goto done;
        answered += rc == 0;
        dropped += rc == 1;
    }
    status = 0;
    fprintf (stderr, "secpol-echo: stopped: %" PRIu64 " calls answered, %" PRIu64 " dropped\n",
             answered, dropped);

done:
    if (status != 0)
        fprintf (stderr, "secpol-echo: %s: %s\n", endpoint, zmq_strerror (zmq_errno ()));
    if (router)
        zmq_close (router);
    if (context)
        zmq_ctx_term (context);
    return status;
}

static void
s_on_signal (int signal_number)
{
    (void)signal_number;
    s_stop = 1;
}

/*  Receives one message and answers it. Returns 0 when it answered, 1 when
 *  it dropped a message that is no request, -1 when nothing came or the
 *  socket failed (errno: EAGAIN after S_WAKE_MS, EINTR on a signal). */
static int
s_echo_one (void *router)
{
    zmq_msg_t parts[S_PARTS];
    size_t n = 0;
    bool more = true, too_many = false;
    int rc = -1;
    while (more) {
        zmq_msg_t extra; /* parts past S_PARTS are received and let go */
        zmq_msg_t *part = n < S_PARTS ? &parts[n] : &extra;
        zmq_msg_init (part);
        if (zmq_msg_recv (part, router, 0) < 0) {
            zmq_msg_close (part);
            goto done;
        }
        more = zmq_msg_more (part);
        if (part == &extra) {
            zmq_msg_close (&extra);
            too_many = true;
        } else
            n++;
    }

    rc = 1;
    Secpol__V1__RequestHeader *request =
        n == S_PARTS && !too_many && zmq_msg_size (&parts[1]) == 0
            ? secpol__v1__request_header__unpack (NULL, zmq_msg_size (&parts[2]),
                                                  zmq_msg_data (&parts[2]))
            : NULL;
    if (!request)
        goto done;
    Secpol__V1__ResponseHeader reply = SECPOL__V1__RESPONSE_HEADER__INIT;
    reply.call_id = request->call_id; /* code 0: OK */
    secpol__v1__request_header__free_unpacked (request, NULL);
    uint8_t header[S_MAX_HEADER];
    size_t header_size = secpol__v1__response_header__pack (&reply, header);

    /* A ROUTER never blocks on send: a reply to a peer gone or over its
     * high-water mark is dropped by libzmq, as secpold's are. */
    rc = zmq_msg_send (&parts[0], router, ZMQ_SNDMORE) < 0 ||
                 zmq_msg_send (&parts[1], router, ZMQ_SNDMORE) < 0 ||
                 zmq_send (router, header, header_size, ZMQ_SNDMORE) < 0 ||
                 zmq_send (router, "", 0, 0) < 0
             ? -1
             : 0;

done:;
    int error = errno;
    for (size_t i = 0; i < n; i++)
        zmq_msg_close (&parts[i]); /* a sent part is already empty */
    errno = error;
    return rc;
}
