# What `cmake --install` places, and the Debian package `cpack -G DEB` builds from it.
include(GNUInstallDirs)

install(TARGETS keyfence keyfence-vcard RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# keyfenced, the per-user agent, and its systemd user units (socket activation).
install(TARGETS keyfenced RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
set(KEYFENCED_PATH ${CMAKE_INSTALL_FULL_BINDIR}/keyfenced)
configure_file(${PROJECT_SOURCE_DIR}/systemd/keyfenced.service
               ${PROJECT_BINARY_DIR}/systemd/keyfenced.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/systemd/keyfenced.service
              ${PROJECT_SOURCE_DIR}/systemd/keyfenced.socket
        DESTINATION lib/systemd/user)
install(FILES man/keyfenced.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# The libraries and headers, so a C++ program can embed Keyfence (pkg-config or CMake).
install(TARGETS keyfence_base keyfence_token keyfence_mail keyfence_engine
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(layer base token mail engine)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/
            DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/keyfence/${layer}
            FILES_MATCHING PATTERN "*.hpp")
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/keyfence.pc.in ${PROJECT_BINARY_DIR}/keyfence.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/keyfence.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
include(CMakePackageConfigHelpers)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/keyfenceConfig.cmake.in
    ${PROJECT_BINARY_DIR}/keyfenceConfig.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/keyfence
    PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/keyfenceConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/keyfenceConfig.cmake ${PROJECT_BINARY_DIR}/keyfenceConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/keyfence)

# udev and polkit rules (docs/udev-and-polkit.md), the shell completion and the man pages.
install(FILES udev/70-keyfence.rules udev/70-keyfence-group.rules
        DESTINATION lib/udev/rules.d)
install(FILES udev/polkit/50-keyfence-pcscd.rules
        DESTINATION ${CMAKE_INSTALL_DATADIR}/polkit-1/rules.d)
install(FILES completions/keyfence.bash RENAME keyfence
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES man/keyfence.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES man/keyfence-policy.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES README.md docs/threat-model.md docs/troubleshooting.md docs/policy.md
              docs/user-guide.md docs/admin-guide.md docs/smime.md docs/pgp.md docs/mail.md
              docs/limits.md docs/agent-protocol.md docs/audit.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# cpack -G DEB: the dependencies come from dpkg-shlibdeps (the libraries keyfence links) plus
# what Keyfence runs at run time.
set(CPACK_PACKAGE_NAME keyfence)
set(CPACK_PACKAGE_VENDOR "Keyfence")
set(CPACK_PACKAGE_CONTACT "Keyfence developers <keyfence@keyfence.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "sign and decrypt email with keys that never leave a hardware token")
set(CPACK_PACKAGE_DESCRIPTION
    "Keyfence signs and decrypts with private keys that stay on smartcards, YubiKeys, PIV/CAC and OpenPGP cards and PKCS#11 tokens, behind the token's PIN, with a lockout guard, a policy and an audit log.")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "p11-kit, p11-kit-modules")
# PGP/MIME runs gpg and gpg-agent, with scdaemon for OpenPGP cards and gnupg-pkcs11-scd for
# PKCS#11 tokens (keyfence pgp setup --card | --pkcs11).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
    "pcscd, opensc-pkcs11, pinentry-curses | pinentry, gnupg, gpg-agent, scdaemon")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "gnupg-pkcs11-scd, gpgsm, softhsm2, vsmartcard-vpcd")
set(CPACK_GENERATOR DEB)
include(CPack)
