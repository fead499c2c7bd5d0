// keyfence smime encrypt | decrypt.

#include "cli/smime_support.hpp"

namespace keyfence::cli {

void add_smime_encrypt_decrypt(CommandContext&, CLI::App*) {}

}  // namespace keyfence::cli
