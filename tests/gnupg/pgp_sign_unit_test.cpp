// mail/pgp without daemons: the signature's hash per signing subkey, and GpgProcess's order
// with a stand-in gpg (the end of its input only on finish()).

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

TEST(PgpSign, TheHashIsFixedFromTheSigningSubkeyAsGpgWantsIt) {
    // The micalg is written before the agent signs: the hash must be one gpg accepts for the
    // key (an ECDSA hash no shorter than the curve).
    auto hash = [](gpgme_pubkey_algo_t algo, const char* curve) {
        FakeKey k({{algo, curve}});
        return pgp::micalg_for(pgp::signature_hash(&k.subkeys[0]));
    };
    EXPECT_EQ(hash(GPGME_PK_RSA, nullptr), "pgp-sha256");
    EXPECT_EQ(hash(GPGME_PK_EDDSA, "ed25519"), "pgp-sha256");
    EXPECT_EQ(hash(GPGME_PK_ECDSA, "nistp256"), "pgp-sha256");
    EXPECT_EQ(hash(GPGME_PK_ECDSA, "nistp384"), "pgp-sha384");
    EXPECT_EQ(hash(GPGME_PK_ECDSA, "brainpoolP384r1"), "pgp-sha384");
    EXPECT_EQ(hash(GPGME_PK_ECDSA, "nistp521"), "pgp-sha512");
    EXPECT_EQ(hash(GPGME_PK_ECDSA, "brainpoolP512r1"), "pgp-sha512");
    EXPECT_EQ(hash(GPGME_PK_EDDSA, "ed448"), "pgp-sha512");
    EXPECT_EQ(pgp::micalg_for(pgp::signature_hash(nullptr)), "pgp-sha256");
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
            const auto created = result->find("SIG_CREATED");
            ASSERT_TRUE(created);
            EXPECT_NE(created->find("FPR"), std::string::npos) << *created;
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
