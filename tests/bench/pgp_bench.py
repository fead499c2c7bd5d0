#!/usr/bin/env python3
"""PGP/MIME on a large message: Keyfence against plain gpg, same GnuPG home, same token key.

Generates one message (default 1 GiB; --size or KEYFENCE_BENCH_SIZE, e.g. 256M) in a temporary
directory, sets up a Keyfence GnuPG home on a copy of the SoftHSM test template
(`keyfence pgp setup --pkcs11`, gnupg-pkcs11-scd) and binds the RSA-2048 key (`pgp bind`), then
signs, encrypts, signs and encrypts, and decrypts it once with Keyfence and once with gpg in the
same home with the same key (gpg's PIN by loopback pinentry). Prints wall time, the throughput
ratio gpg time / Keyfence time (goal >= 0.8) and the peak RSS of each command (goal <= 64 MiB
for Keyfence; wait4's ru_maxrss through GNU time, of the command itself: gpg-agent and the
smartcard daemon are shared and not counted for either side). Everything is measured in this
run; the directory is removed and the home's daemons stopped at the end. --rounds N runs every
command N times, Keyfence and gpg alternating, and keeps the fastest of each (the machine is
shared: one run can land in another process's burst); --ops names the operations to run.

    tests/bench/pgp_bench.py --keyfence build/bench/cli/keyfence \\
        --template build/bench/softhsm-template [--size 1G] [--rounds 3] [--ops sign,decrypt]
(./scripts/bench runs it.)
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smime_bench import (KEY, PIN, SOFTHSM, best_of, make_message, parse_size,  # noqa: E402
                         run)

OPS = ("sign", "encrypt", "enc+sign", "decrypt", "clearsign")

ME = "rsa2048@example.org"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keyfence", required=True)
    ap.add_argument("--template", required=True, help="make-softhsm-template.sh output")
    ap.add_argument("--size", default=os.environ.get("KEYFENCE_BENCH_SIZE", "1G"))
    ap.add_argument("--rounds", type=int, default=1,
                    help="run each command this many times, alternating, and keep the fastest")
    ap.add_argument("--ops", default=",".join(OPS),
                    help="comma-separated operations to run (default: all): " + ", ".join(OPS))
    args = ap.parse_args()
    ops = args.ops.split(",")
    if not ops or any(op not in OPS for op in ops):
        ap.error("--ops takes " + ", ".join(OPS))
    size = parse_size(args.size)
    keyfence = os.path.abspath(args.keyfence)
    work = tempfile.mkdtemp(prefix="pgp-bench-")
    home = os.path.join(work, "gnupg")
    env = None
    try:
        shutil.copytree(os.path.join(args.template, "tokens"), os.path.join(work, "tokens"))
        conf = os.path.join(work, "softhsm2.conf")
        with open(conf, "w") as f:
            f.write("directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
                    "log.level = ERROR\nslots.removable = false\n" % work)
        env = dict(os.environ, SOFTHSM2_CONF=conf, XDG_STATE_HOME=work + "/state",
                   XDG_CONFIG_HOME=work + "/config", XDG_DATA_HOME=work + "/data",
                   TMPDIR=work)
        kf = [keyfence, "--no-p11-kit", "--module", SOFTHSM]
        run(kf + ["pgp", "setup", "--pkcs11", "--homedir", home], env)
        run(kf + ["pgp", "bind", "--homedir", home, "--key", KEY, "--uid",
                  "Test rsa2048 <%s>" % ME], env, pin=True)
        msg = os.path.join(work, "msg.eml")
        make_message(msg, size)
        p = lambda name: os.path.join(work, name)
        gpg = ["gpg", "--homedir", home, "--batch", "--yes", "--no-tty", "--trust-model",
               "always", "--pinentry-mode", "loopback", "--passphrase", PIN, "--armor"]
        kfh = lambda op: kf + ["pgp", op, "--homedir", home]
        commands = [
            ("sign",
             lambda: run(kfh("sign") + ["--key", ME, "--in", msg, "--out", p("kf.signed")], env,
                         pin=True),
             lambda: run(gpg + ["-u", ME, "--detach-sign", "-o", p("gpg.sig"), msg], env)),
            ("encrypt",
             lambda: run(kfh("encrypt") + ["--to", ME, "--in", msg, "--out", p("kf.enc")], env),
             lambda: run(gpg + ["-r", ME, "-e", "-o", p("gpg.enc"), msg], env)),
            ("enc+sign",
             lambda: run(kfh("encrypt") + ["--sign", "--to", ME, "--in", msg, "--out",
                                           p("kf.se")], env, pin=True),
             lambda: run(gpg + ["-u", ME, "-r", ME, "-s", "-e", "-o", p("gpg.se"), msg], env)),
            ("decrypt",
             lambda: run(kfh("decrypt") + ["--in", p("kf.enc"), "--out", p("kf.dec")], env,
                         pin=True),
             lambda: run(gpg + ["-d", "-o", p("gpg.dec"), p("gpg.enc")], env)),
        ]
        # Informational, not the goal's peer: gpg making a signed message that holds the
        # content (a cleartext signature, text mode), as Keyfence's multipart/signed does.
        commands.append(
            ("clearsign",
             lambda: run(kfh("sign") + ["--key", ME, "--in", msg, "--out", p("kf.signed")], env,
                         pin=True),
             lambda: run(gpg + ["-u", ME, "--clearsign", "-o", p("gpg.clear"), msg], env)))
        # Every command writes a new file, as in the first round: replacing the previous
        # round's 1 GiB output would add the file system's freeing of it to the time.
        outputs = {"sign": ("kf.signed", "gpg.sig"), "encrypt": ("kf.enc", "gpg.enc"),
                   "enc+sign": ("kf.se", "gpg.se"), "decrypt": ("kf.dec", "gpg.dec"),
                   "clearsign": ("kf.signed", "gpg.clear")}

        def fresh(name, command):
            def run_fresh():
                if os.path.exists(p(name)):
                    os.unlink(p(name))
                return command()
            return run_fresh
        if "decrypt" in ops and "encrypt" not in ops:
            # decrypt reads what encrypt wrote: make the inputs once, unmeasured.
            commands[1][1]()
            commands[1][2]()
        rows = [(op, *best_of(args.rounds, fresh(outputs[op][0], ours),
                              fresh(outputs[op][1], theirs)))
                for op, ours, theirs in commands if op in ops]
        if "sign" in ops or "clearsign" in ops:
            # Fast and wrong is no result: the last signed message must verify (unmeasured).
            run(kfh("verify") + ["--in", p("kf.signed")], env)
        print("message: %.0f MiB; peer: %s, same home and token key; fastest of %d round(s)" % (
            size / 2**20, subprocess.run(["gpg", "--version"], capture_output=True,
                                         text=True).stdout.splitlines()[0], args.rounds))
        print("%-9s %10s %10s %13s %12s %12s" % ("op", "keyfence", "gpg", "gpg/kf (>=0.8)",
                                                 "kf RSS MiB", "gpg RSS MiB"))
        for op, (kt, krss), (gt, grss) in rows:
            print("%-9s %9.2fs %9.2fs %13.2f %12.1f %12.1f" % (op, kt, gt, gt / kt, krss, grss))
        print("gpg signs detached over the raw file; Keyfence parses the message and, in one "
              "pass, writes the canonical MIME entity to the output and to one SHA-256; gpg-agent "
              "signs the digest (and checks an RSA signature; Keyfence checks ECDSA/EdDSA), then "
              "the signature part; gpg decrypts its own "
              "ciphertext of the same message; clearsign (not the goal's peer): Keyfence's sign "
              "against gpg --clearsign, a signed message holding the content; each command "
              "writes a new file")
    finally:
        if env is not None and os.path.isdir(home):
            subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
