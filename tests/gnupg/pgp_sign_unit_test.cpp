// mail/pgp's signing without daemons: which keys sign in one pass, gpg's SIG_CREATED
// line, and GpgProcess's order with a stand-in gpg (the end of its input only on finish()).

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>

#include "mail/pgp/gpg_process.hpp"
#include "mail/pgp/homedir.hpp"
#include "mail/pgp/sign.hpp"
#include "tests/support/test_world.hpp"

namespace keyfence::test {
namespace {
namespace pgp = mail::pgp;

// A key with one signing subkey per (algorithm, curve), as GPGME lists it.
using Subkeys = std::vector<std::pair<gpgme_pubkey_algo_t, const char*>>;
struct FakeKey {
    std::vector<_gpgme_subkey> subkeys;
    _gpgme_key key{};
    FakeKey(const FakeKey&) = delete;  // the subkeys point at each other
    explicit FakeKey(const Subkeys& subs) {
        subkeys.resize(subs.size());
        for (std::size_t i = 0; i < subs.size(); ++i) {
            subkeys[i] = _gpgme_subkey{};
            subkeys[i].can_sign = 1;
            subkeys[i].pubkey_algo = subs[i].first;
            subkeys[i].curve = const_cast<char*>(subs[i].second);
            if (i + 1 < subs.size()) subkeys[i].next = &subkeys[i + 1];
        }
        key.subkeys = subkeys.data();
    }
};

TEST(PgpSign, OnePassIsForKeysWhoseEverySigningSubkeyIsRsa) {
    // gpg-agent checks RSA token signatures itself (the one-pass fault defence).
    FakeKey rsa({{GPGME_PK_RSA, nullptr}, {GPGME_PK_RSA_S, nullptr}});
    EXPECT_TRUE(pgp::agent_checks_signatures(&rsa.key));
    FakeKey mixed({{GPGME_PK_RSA, nullptr}, {GPGME_PK_EDDSA, "ed25519"}});
    EXPECT_FALSE(pgp::agent_checks_signatures(&mixed.key));
    FakeKey revoked_ec({{GPGME_PK_RSA, nullptr}, {GPGME_PK_ECDSA, "nistp256"}});
    revoked_ec.subkeys[1].revoked = 1;
    EXPECT_TRUE(pgp::agent_checks_signatures(&revoked_ec.key));
    FakeKey none(Subkeys{});
    EXPECT_FALSE(pgp::agent_checks_signatures(&none.key));
}

TEST(PgpSign, SigCreatedGivesTheKeyAndHashAlgorithmsAndTheSigner) {
    // doc/DETAILS: SIG_CREATED <type> <pubkey algo> <hash algo> <class> <time> <fingerprint>.
    // The two-pass signer takes the micalg from it; RSA (1 or 3) needs no second gpg.
    pgp::GpgResult result;
    result.status = {"KEY_CONSIDERED 0123 2", "BEGIN_SIGNING H8",
                     "SIG_CREATED D 1 8 00 1732960000 0D5C9A41"};
    auto created = pgp::sig_created(result);
    ASSERT_TRUE(created);
    EXPECT_EQ(created->pubkey_algo, 1u);
    EXPECT_TRUE(pgp::is_rsa(created->pubkey_algo));
    EXPECT_EQ(created->hash_algo, static_cast<unsigned long>(GPGME_MD_SHA256));
    EXPECT_EQ(created->fingerprint, "0D5C9A41");
    result.status = {"SIG_CREATED D 19 10 00 1732960000 ABCD"};  // ECDSA, SHA-512
    created = pgp::sig_created(result);
    ASSERT_TRUE(created);
    EXPECT_FALSE(pgp::is_rsa(created->pubkey_algo));
    EXPECT_EQ(pgp::micalg_for(static_cast<gpgme_hash_algo_t>(created->hash_algo)), "pgp-sha512");
    result.status = {"SIG_CREATED D 1 8"};  // cut short: no signature to trust
    EXPECT_FALSE(pgp::sig_created(result));
    result.status = {};
    EXPECT_FALSE(pgp::sig_created(result));
}

// A stand-in for gpg (GPGME's engine program of the context): it copies its standard input to
// `got`, and only after the end of its input says so (`ended`), writes a SIG_CREATED status
// line and a "signature". What a gpg fed through a pipe (decrypt's range) relies on: nothing
// happens after the input until the caller ends it, and a killed gpg never gets there.
struct FakeGpg {
    TempDir dir;
    std::filesystem::path got = dir.path() / "got";
    std::filesystem::path ended = dir.path() / "ended";
    std::optional<pgp::Context> ctx;
    explicit FakeGpg(const std::string& script_body) {
        const auto script = dir.path() / "fake-gpg";
        // GPGME runs its engine with --version when it is set.
        write_file(script, "#!/bin/sh\n[ \"$1\" = --version ] && exec echo 'gpg (GnuPG) 2.2.40'\n" +
                               script_body);
        ::chmod(script.c_str(), 0700);
        auto opened = pgp::Context::open(dir.path().string());
        EXPECT_TRUE(opened);
        ctx.emplace(std::move(*opened));
        gpgme_ctx_set_engine_info(ctx->get(), GPGME_PROTOCOL_OpenPGP, script.c_str(),
                                  dir.path().c_str());
    }
};

TEST(PgpGpgProcess, GpgSeesTheEndOfItsInputOnlyWhenFinishedAndNeverWhenKilled) {
    // The script finds its files beside itself.
    const std::string script =
        "d=$(dirname \"$0\"); cat > \"$d/got\"; touch \"$d/ended\"\n"
        "echo '[GNUPG:] SIG_CREATED D 1 8 00 1732960000 FPR' >&3\n"
        "printf signature\n";
    const std::string block(3u << 20, 'x');  // more than the pipe holds
    for (const bool finish : {true, false}) {
        FakeGpg f(script);
        std::string output;
        pgp::GpgRun run;
        run.stdin_fd = pgp::k_gpg_stdin_pipe;
        run.output = [&](std::string_view bytes) {
            output.append(bytes);
            return true;
        };
        auto gpg = pgp::GpgProcess::start(*f.ctx, run);
        ASSERT_TRUE(gpg);
        ASSERT_TRUE(gpg->feed(block));
        ::usleep(200 * 1000);
        EXPECT_FALSE(std::filesystem::exists(f.ended)) << "gpg saw the end of its input early";
        if (finish) {
            auto result = gpg->finish();
            ASSERT_TRUE(result);
            EXPECT_TRUE(result->exited_ok);
            EXPECT_TRUE(std::filesystem::exists(f.ended));
            EXPECT_EQ(std::filesystem::file_size(f.got), block.size());
            EXPECT_EQ(output, "signature");
            ASSERT_TRUE(pgp::sig_created(*result));
            EXPECT_EQ(pgp::sig_created(*result)->fingerprint, "FPR");
        } else {
            gpg->kill();
            EXPECT_FALSE(std::filesystem::exists(f.ended)) << "a killed gpg went on";
            EXPECT_TRUE(output.empty());
        }
    }
}

TEST(PgpGpgProcess, AGpgThatStopsReadingIsAnErrorNotASigpipe) {
    // The CLI keeps SIGPIPE's default action, which would end Keyfence without a word.
    auto* previous = std::signal(SIGPIPE, SIG_DFL);
    {
        FakeGpg f("echo '[GNUPG:] FAILURE sign 33554441' >&3\nexit 2\n");
        pgp::GpgRun run;
        run.stdin_fd = pgp::k_gpg_stdin_pipe;
        auto gpg = pgp::GpgProcess::start(*f.ctx, run);
        ASSERT_TRUE(gpg);
        base::Status fed;
        for (int i = 0; i < 64 && fed; ++i) fed = gpg->feed(std::string(1u << 20, 'x'));
        EXPECT_FALSE(fed);
        auto result = gpg->finish();
        ASSERT_TRUE(result);
        EXPECT_FALSE(result->exited_ok);
        EXPECT_NE(result->failure, 0u);
    }
    std::signal(SIGPIPE, previous);
}
}  // namespace
}  // namespace keyfence::test
