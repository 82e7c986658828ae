#!/usr/bin/python3
"""login_flow.py - what a backend login service asks secpol, start to end.

    login_flow.py [--endpoint tcp://secpold:7420[,ENDPOINT...]] [--workspace W] [--user U]
                  [--server-key FILE --client-cert FILE]

One user's story against a running secpold, through the Python client
(package secpol, docs/PYTHON.md):

  1. the login page: is the account locked? (CheckLockout)
  2. a wrong password: RecordFailure counts it, and says how many tries remain
  3. the right password: RecordSuccess clears the count; a session is made
     (CreateSession) and checked (ValidateSession)
  4. "forgot password": a reset link token is issued (IssueToken) and used
     once (ConsumeToken), which signs the user out of every session; the
     second use is refused
  5. two-step login with an authenticator app: the secret is enrolled
     (BeginTotpEnrollment, ConfirmTotpEnrollment) and a code verified
     (VerifyTotp); the codes are computed here as the app would (RFC 6238)

It needs the service role only (with CURVE: a key secpolctl keygen made
with --role service). Each step prints one line. Exit status 0 when every step behaved as a login
service expects, 1 otherwise (the line says what differed), 2 on bad usage.
The user id is random unless --user is given, so the flow can run again on
the same store. --endpoint (or SECPOL_ENDPOINT) may name several instances of
one deployment separated by commas (docs/SCALING.md): the calls are then
spread over them. docker/compose.yaml runs it as the service login-example,
and against both instances of its scale profile as login-example-scale.
"""

import argparse
import base64
import hashlib
import hmac
import os
import struct
import sys

import secpol

LOGIN = "LOCKOUT_KIND_LOGIN"
RESET = "TOKEN_KIND_PASSWORD_RESET"


def totp(secret_base32, at, step=30, digits=6):
    """The RFC 6238 code (HMAC-SHA1) of a base32 secret at unix time at."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8), casefold=True)
    digest = hmac.new(key, struct.pack(">Q", int(at) // step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


class Flow:
    def __init__(self, client, workspace, user):
        self.client = client
        self.workspace = workspace
        self.user = user
        self.failed = 0

    def step(self, name, ok, detail):
        print("%-4s %-28s %s" % ("ok" if ok else "FAIL", name, detail), flush=True)
        if not ok:
            self.failed += 1

    def run(self):
        c, ws, user = self.client, self.workspace, self.user
        health = c.Health.Check()
        self.step("server", health.status == secpol.v1.health_pb2.SERVING,
                  "secpold %s" % health.version)
        # the workspace's settings, as the login page needs them
        policy = c.PolicyService.GetPolicy(workspace_id=ws)
        self.step("workspace policy", True,
                  "lockout after %d failures, authenticator apps %s"
                  % (policy.login_lockout.max_failures,
                     "on" if policy.authenticator_app_enabled else "off"))
        self.totp_allowed = policy.authenticator_app_enabled

        status = c.LockoutService.CheckLockout(workspace_id=ws, subject_id=user, kind=LOGIN)
        self.step("login page: lockout", not status.locked,
                  "not locked, %d attempts allowed" % status.remaining_attempts)
        allowed = status.remaining_attempts

        status = c.LockoutService.RecordFailure(workspace_id=ws, subject_id=user, kind=LOGIN)
        self.step("wrong password", status.failures == 1 and
                  status.remaining_attempts == allowed - 1,
                  "failures=%d remaining=%d" % (status.failures, status.remaining_attempts))

        status = c.LockoutService.RecordSuccess(workspace_id=ws, subject_id=user, kind=LOGIN)
        self.step("right password", status.failures == 0 and not status.locked,
                  "count cleared")
        session = c.SessionService.CreateSession(workspace_id=ws, subject_id=user)
        valid = c.SessionService.ValidateSession(session_token=session.session_token)
        self.step("session", valid.session.subject_id == user,
                  "created and valid until %d" % session.idle_expires_at)

        issued = c.TokenService.IssueToken(workspace_id=ws, kind=RESET, subject_id=user)
        used = c.TokenService.ConsumeToken(token=issued.token, kind=RESET)
        # a reset signs the user out everywhere: the session above ends
        self.step("reset link: first use", used.subject_id == user and used.revoked_sessions >= 1,
                  "token for %s; %d sessions signed out" % (used.subject_id,
                                                            used.revoked_sessions))
        try:
            c.TokenService.ConsumeToken(token=issued.token, kind=RESET)
            self.step("reset link: second use", False, "accepted twice")
        except secpol.SecpolError as error:
            self.step("reset link: second use", error.code == secpol.Status.NOT_FOUND,
                      "refused: %s" % error.code_name)

        otp = getattr(c, "OtpService", None)
        if otp is None or not hasattr(otp, "BeginTotpEnrollment"):
            print("skip authenticator app               this secpol has no TOTP (OtpService)",
                  flush=True)
            return
        if not self.totp_allowed:
            print("skip authenticator app               off in this workspace's policy",
                  flush=True)
            return
        enrollment = otp.BeginTotpEnrollment(workspace_id=ws, subject_id=user,
                                             account_name=user, issuer="secpol example")
        now = c.Health.Check().now  # the server's clock decides which code is current
        confirmed = otp.ConfirmTotpEnrollment(workspace_id=ws, subject_id=user,
                                              code=totp(enrollment.secret_base32, now))
        self.step("authenticator: enroll", len(confirmed.recovery_codes) > 0,
                  "%d recovery codes" % len(confirmed.recovery_codes))
        # a code of the next time step: the one just used is not accepted twice
        verified = otp.VerifyTotp(workspace_id=ws, subject_id=user,
                                  code=totp(enrollment.secret_base32, now + 30))
        self.step("authenticator: login code", verified.ok,
                  "accepted" if verified.ok else "refused: %s" % verified.reason)
        near = {totp(enrollment.secret_base32, now + 30 * k) for k in range(-2, 3)}
        wrong_code = next(code for code in ("000000", "111111", "222222", "333333", "444444",
                                            "555555") if code not in near)
        wrong = otp.VerifyTotp(workspace_id=ws, subject_id=user, code=wrong_code)
        self.step("authenticator: wrong code", not wrong.ok,
                  "refused, %d failures counted" % wrong.lockout.failures)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", default=os.environ.get("SECPOL_ENDPOINT",
                                                             secpol.DEFAULT_ENDPOINT),
                        help="secpold's endpoint, or several separated by commas "
                        "(default: SECPOL_ENDPOINT, else %s)" % secpol.DEFAULT_ENDPOINT)
    parser.add_argument("--workspace", default="example-workspace")
    parser.add_argument("--user", default="user-%s" % os.urandom(4).hex())
    parser.add_argument("--server-key", help="CURVE: secpold's public certificate "
                        "(default: SECPOL_SERVER_KEY)")
    parser.add_argument("--client-cert", help="CURVE: this client's secret certificate "
                        "(default: SECPOL_CLIENT_CERT)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per call")
    args = parser.parse_args()
    try:
        client = secpol.Client(args.endpoint, timeout=args.timeout, server_key=args.server_key,
                               client_cert=args.client_cert)
    except (secpol.SecpolError, ValueError) as error:
        print("login_flow: %s" % error, file=sys.stderr)
        return 2
    flow = Flow(client, args.workspace, args.user)
    try:
        flow.run()
    except secpol.SecpolError as error:
        print("FAIL %s: %s" % (error.method, error), flush=True)
        return 1
    finally:
        client.close()
    print("login flow: %s" % ("all steps as expected" if flow.failed == 0
                              else "%d steps differed" % flow.failed))
    return 0 if flow.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
