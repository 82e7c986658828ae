"""Python and C (secpolctl, built on libsecpol-client) share one secpold:
what one writes the other reads. Tokens issued by Python are consumed by C
exactly once, and the other way round; a policy Python sets is the policy C
reads, and the other way round; failures reach Python as SecpolError with the
server's code, message and violations; replies are matched by call_id."""

import unittest

import secpol
from secpol.v1 import rpc_pb2
from secpol_harness import Secpold

server = None


def setUpModule():
    global server
    server = Secpold()


def tearDownModule():
    server.stop()  # raises unless secpold exits 0


class TokenInterop(unittest.TestCase):
    def setUp(self):
        self.client = server.client()

    def test_python_issues_c_consumes_once(self):
        issued = self.client.TokenService.IssueToken(
            workspace_id="w-tok", kind="TOKEN_KIND_PASSWORD_RESET", subject_id="py-user")
        self.assertTrue(issued.token)
        info = server.ctl_json("token", "verify", issued.token, "password-reset")
        self.assertEqual(info["subject_id"], "py-user")
        self.assertEqual(info["workspace_id"], "w-tok")
        server.ctl("token", "consume", issued.token, "password-reset")
        with self.assertRaises(secpol.SecpolError) as caught:
            self.client.TokenService.ConsumeToken(token=issued.token,
                                                  kind="TOKEN_KIND_PASSWORD_RESET")
        self.assertEqual(caught.exception.code, secpol.Status.NOT_FOUND)
        self.assertFalse(caught.exception.local)
        server.ctl("token", "consume", issued.token, "password-reset", want=5)

    def test_c_issues_python_consumes_once(self):
        issued = server.ctl_json("token", "issue", "w-tok", "password-reset", "c-user")
        info = self.client.TokenService.ConsumeToken(token=issued["token"],
                                                     kind="TOKEN_KIND_PASSWORD_RESET")
        self.assertEqual(info.subject_id, "c-user")
        self.assertEqual(info.kind, secpol.v1.token_pb2.TOKEN_KIND_PASSWORD_RESET)
        self.assertEqual(info.expires_at, issued["expires_at"])
        server.ctl("token", "consume", issued["token"], "password-reset", want=5)
        with self.assertRaises(secpol.SecpolError) as caught:
            self.client.TokenService.ConsumeToken(token=issued["token"],
                                                  kind="TOKEN_KIND_PASSWORD_RESET")
        self.assertEqual(caught.exception.code, secpol.Status.NOT_FOUND)


class PolicyInterop(unittest.TestCase):
    def setUp(self):
        self.client = server.client()

    def test_python_sets_c_reads(self):
        policy = self.client.PolicyService.UpdatePolicy(
            workspace_id="w-py",
            policy={"login_lockout": {"max_failures": 7}, "session_timeout_minutes": 33},
            update_mask=["login_lockout.max_failures", "session_timeout_minutes"])
        self.assertEqual(policy.login_lockout.max_failures, 7)
        read = server.ctl_json("policy", "get", "w-py")
        self.assertEqual(read["login_lockout"]["max_failures"], 7)
        self.assertEqual(read["session_timeout_minutes"], 33)
        self.assertEqual(read["version"], policy.version)
        # C's lockout reads the same policy: 7 attempts, not the default 5
        status = server.ctl_json("lockout", "status", "w-py", "someone", "--kind", "login")
        self.assertEqual(status["remaining_attempts"], 7)

    def test_c_sets_python_reads(self):
        server.ctl("policy", "set", "--create", "w-c", "login_lockout.max_failures=9",
                   "remember_me_enabled=true")
        policy = self.client.PolicyService.GetPolicy(workspace_id="w-c")
        self.assertEqual(policy.login_lockout.max_failures, 9)
        self.assertTrue(policy.remember_me_enabled)
        # and a stale expected_version from Python is refused, nothing changed
        with self.assertRaises(secpol.SecpolError) as caught:
            self.client.PolicyService.UpdatePolicy(
                workspace_id="w-c", policy={"login_lockout": {"max_failures": 3}},
                update_mask=["login_lockout.max_failures"],
                expected_version=policy.version + 5)
        self.assertEqual(caught.exception.code, secpol.Status.ABORTED)
        self.assertEqual(server.ctl_json("policy", "get", "w-c")["login_lockout"]["max_failures"],
                         9)


class LockoutInterop(unittest.TestCase):
    def test_python_failures_lock_what_c_sees(self):
        client = server.client()
        for attempt in range(5):
            status = client.LockoutService.RecordFailure(
                workspace_id="w-lock", subject_id="u1", kind="LOCKOUT_KIND_LOGIN")
        self.assertTrue(status.locked)
        seen = server.ctl_json("lockout", "status", "w-lock", "u1", "--kind", "login")
        self.assertTrue(seen["locked"])
        server.ctl("lockout", "unlock", "w-lock", "u1", "--kind", "login")
        self.assertFalse(client.LockoutService.CheckLockout(
            workspace_id="w-lock", subject_id="u1", kind="LOCKOUT_KIND_LOGIN").locked)


class Errors(unittest.TestCase):
    def setUp(self):
        self.client = server.client()

    def test_invalid_argument_carries_violations(self):
        with self.assertRaises(secpol.SecpolError) as caught:
            self.client.PolicyService.UpdatePolicy(
                workspace_id="w-bad",
                policy={"login_lockout": {"max_failures": 100000}, "hsts": {"max_age_days": 9999}},
                update_mask=["login_lockout.max_failures", "hsts.max_age_days"])
        error = caught.exception
        self.assertEqual(error.code, secpol.Status.INVALID_ARGUMENT)
        self.assertEqual(error.code_name, "INVALID_ARGUMENT")
        fields = sorted(v.field for v in error.violations)
        self.assertEqual(fields, ["policy.hsts.max_age_days", "policy.login_lockout.max_failures"])
        self.assertIn("policy.hsts.max_age_days", str(error))
        self.assertEqual(error.method, "/secpol.v1.PolicyService/UpdatePolicy")
        # nothing was stored
        self.assertEqual(self.client.PolicyService.GetPolicy(workspace_id="w-bad").version, 0)

    def test_unknown_method_and_test_clock(self):
        with self.assertRaises(secpol.SecpolError) as caught:
            self.client.call("/secpol.v1.NoSuchService/Nothing")
        self.assertEqual(caught.exception.code, secpol.Status.UNIMPLEMENTED)
        with self.assertRaises(secpol.SecpolError) as caught:  # no --test-clock here
            self.client.TestClockService.SetOffset(offset_seconds=60)
        self.assertEqual(caught.exception.code, secpol.Status.UNIMPLEMENTED)

    def test_bad_fields_refused_before_sending(self):
        with self.assertRaises(TypeError) as caught:
            self.client.PolicyService.GetPolicy(workspace="w1")
        self.assertIn("workspace", str(caught.exception))
        with self.assertRaises(TypeError):
            self.client.PolicyService.GetPolicy(secpol.v1.token_pb2.VerifyTokenRequest())
        with self.assertRaises(ValueError):
            self.client.LockoutService.CheckLockout(workspace_id="w", subject_id="u",
                                                    kind="LOCKOUT_KIND_NOPE")

    def test_no_server_is_unavailable_locally(self):
        lone = secpol.Client("ipc://%s/nobody.sock" % server.tmp, timeout=0.2)
        with self.assertRaises(secpol.SecpolError) as caught:
            lone.Health.Check()
        lone.close()
        self.assertEqual(caught.exception.code, secpol.Status.UNAVAILABLE)
        self.assertTrue(caught.exception.local)

    def test_bad_endpoint(self):
        with self.assertRaises(secpol.SecpolError) as caught:
            secpol.Client("tcp://nowhere:notaport")
        self.assertEqual(caught.exception.code, secpol.Status.INVALID_ARGUMENT)


class Transport(unittest.TestCase):
    def test_reply_of_another_call_id_is_dropped(self):
        client = server.client()
        # A call the client gave up on: its reply arrives before the next one.
        stale = rpc_pb2.RequestHeader(method="/secpol.v1.PolicyService/GetPolicy",
                                      call_id=999999)
        client._socket.send_multipart([b"", stale.SerializeToString(), b"\x0a\x02w9"])
        health = client.Health.Check()
        self.assertEqual(health.status, secpol.v1.health_pb2.SERVING)
        self.assertEqual(health.version, server.ctl_json("health")["version"])

    def test_request_message_and_fields_alike(self):
        client = server.client()
        by_message = client.PolicyService.RenderSecurityHeaders(
            secpol.v1.policy_pb2.RenderSecurityHeadersRequest(workspace_id="w-h"))
        by_fields = client.policy_service.render_security_headers(workspace_id="w-h")
        by_path = client.call("/secpol.v1.PolicyService/RenderSecurityHeaders",
                              secpol.v1.policy_pb2.RenderSecurityHeadersRequest(workspace_id="w-h"))
        self.assertEqual(by_message, by_fields)
        self.assertEqual(by_message, by_path)
        self.assertIn("X-Content-Type-Options", [h.name for h in by_message.headers])


if __name__ == "__main__":
    unittest.main(verbosity=2)
