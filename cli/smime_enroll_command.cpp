// keyfence smime csr | import-cert.

#include "cli/smime_support.hpp"

namespace keyfence::cli {

void add_smime_enrollment(CommandContext&, CLI::App*) {}

}  // namespace keyfence::cli
