"""The Python client speaks CURVE with secpold (docs/SECURITY.md): with the
server's public certificate and its own secret certificate from
`secpolctl keygen` it is let in with the role its certificate names; its
tokens and policies interoperate with secpolctl over CURVE; a key secpold
does not allow gets UNAUTHENTICATED, a plain-text client no answer."""

import os
import subprocess
import tempfile
import unittest

import secpol
from secpol_harness import DEADLINE, SECPOLCTL, Secpold

server = None
keys = None


def keygen(name, directory, role="service"):
    os.makedirs(directory, mode=0o700, exist_ok=True)
    subprocess.run([SECPOLCTL, "keygen", name, "--role", role, "--dir", directory], check=True,
                   capture_output=True, timeout=DEADLINE)


def setUpModule():
    global server, keys
    tmp = tempfile.mkdtemp(prefix="secpol-py-curve-")
    keys = os.path.join(tmp, "keys")
    for name, role in (("ops", "admin"), ("billing", "service")):
        keygen(name, os.path.join(keys, "allowed"), role)
    keygen("secpold", os.path.join(keys, "server"))
    keygen("intruder", os.path.join(keys, "other"), "admin")
    authorized = os.path.join(tmp, "authorized")
    os.mkdir(authorized)
    for name in ("ops", "billing"):
        os.link(os.path.join(keys, "allowed", name), os.path.join(authorized, name))
    server = Secpold("--curve-secret-key", os.path.join(keys, "server", "secpold_secret"),
                     "--authorized-keys", authorized, tmp=tmp,
                     keys={"server_key": os.path.join(keys, "server", "secpold"),
                           "client_cert": os.path.join(keys, "allowed", "billing_secret")})


def tearDownModule():
    server.stop()


def key(*parts):
    return os.path.join(keys, *parts)


class Curve(unittest.TestCase):
    def test_service_key_calls_with_its_role(self):
        client = server.client()  # billing: service
        self.assertEqual(client.Health.Check().status, secpol.v1.health_pb2.SERVING)
        self.assertEqual(client.PolicyService.GetPolicy(workspace_id="w-curve").version, 0)
        with self.assertRaises(secpol.SecpolError) as caught:
            client.PolicyService.UpdatePolicy(workspace_id="w-curve",
                                              policy={"session_timeout_minutes": 20},
                                              update_mask=["session_timeout_minutes"])
        self.assertEqual(caught.exception.code, secpol.Status.PERMISSION_DENIED)
        self.assertFalse(caught.exception.local)

    def test_admin_key_writes_policy_c_reads(self):
        admin = server.client(client_cert=key("allowed", "ops"))  # NAME finds NAME_secret
        policy = admin.PolicyService.UpdatePolicy(
            workspace_id="w-curve-admin", policy={"login_lockout": {"max_failures": 4}},
            update_mask=["login_lockout.max_failures"])
        self.assertEqual(policy.login_lockout.max_failures, 4)
        read = server.ctl_json("policy", "get", "w-curve-admin")  # secpolctl over CURVE
        self.assertEqual(read["login_lockout"]["max_failures"], 4)
        history = server.ctl_json("policy", "history", "w-curve-admin")
        self.assertIn('"caller": "ops"', str(history).replace("'", '"'))

    def test_tokens_across_python_and_c(self):
        client = server.client()
        issued = client.TokenService.IssueToken(workspace_id="w-curve", subject_id="u1",
                                                kind="TOKEN_KIND_PASSWORD_RESET")
        server.ctl("token", "consume", issued.token, "password-reset")
        with self.assertRaises(secpol.SecpolError) as caught:
            client.TokenService.ConsumeToken(token=issued.token, kind="TOKEN_KIND_PASSWORD_RESET")
        self.assertEqual(caught.exception.code, secpol.Status.NOT_FOUND)
        c_issued = server.ctl_json("token", "issue", "w-curve", "password-reset", "u2")
        info = client.TokenService.ConsumeToken(token=c_issued["token"],
                                                kind="TOKEN_KIND_PASSWORD_RESET")
        self.assertEqual(info.subject_id, "u2")

    def test_keys_as_z85_pair(self):
        public, secret = secpol.load_certificate(key("allowed", "billing_secret"))
        server_public, _ = secpol.load_certificate(key("server", "secpold"))
        client = server.client(server_key=server_public.decode(), client_cert=(public, secret))
        self.assertEqual(client.Health.Check().status, secpol.v1.health_pb2.SERVING)

    def test_unknown_key_is_unauthenticated(self):
        # no timeout: the refusal itself ends the call (a client that waited
        # for a timeout to say so would hang the test, not pass it)
        client = server.client(client_cert=key("other", "intruder_secret"), timeout=None)
        for _ in range(2):  # and the next call too: libzmq does not try again
            with self.assertRaises(secpol.SecpolError) as caught:
                client.Health.Check()
            self.assertEqual(caught.exception.code, secpol.Status.UNAUTHENTICATED)
            self.assertTrue(caught.exception.local)
            self.assertIn("refused this client's CURVE key", caught.exception.message)
        self.assertIn('msg="curve key refused"', server.log())

    def test_plain_text_client_gets_no_answer(self):
        environ = {k: os.environ.pop(k) for k in ("SECPOL_SERVER_KEY", "SECPOL_CLIENT_CERT")
                   if k in os.environ}
        try:
            plain = secpol.Client(server.endpoint, timeout=0.5)
        finally:
            os.environ.update(environ)
        with self.assertRaises(secpol.SecpolError) as caught:
            plain.Health.Check()
        plain.close()
        self.assertEqual(caught.exception.code, secpol.Status.UNAVAILABLE)

    def test_bad_key_files_are_refused_before_connecting(self):
        with self.assertRaises(secpol.SecpolError) as caught:
            secpol.Client(server.endpoint, server_key=key("server", "nothing"),
                          client_cert=key("allowed", "billing_secret"))
        self.assertEqual(caught.exception.code, secpol.Status.INVALID_ARGUMENT)
        self.assertIn("server_key", caught.exception.message)
        with self.assertRaises(secpol.SecpolError) as caught:  # a public certificate only
            secpol.Client(server.endpoint, server_key=key("server", "secpold"),
                          client_cert=key("server", "secpold_public_only"))
        self.assertIn("client_cert", caught.exception.message)


if __name__ == "__main__":
    unittest.main(verbosity=2)
