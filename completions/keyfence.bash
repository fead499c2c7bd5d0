# bash completion for keyfence
_keyfence() {
    local cur prev words cword
    _init_completion || return
    local commands="tokens keys sign pubkey status watch doctor policy audit lock smime certs pgp mail"
    local globals="--module --no-p11-kit --pin-fd --pinentry --allow-last-pin-try --assume-confirmed --no-agent --demo --json --verbose --help --version"
    local command="" w
    for w in "${words[@]:1:cword-1}"; do
        case " $commands " in *" $w "*) command=$w; break ;; esac
    done
    case "$prev" in
        --module|--pinentry|--in|--out|--ca|--chain) _filedir; return ;;
        --homedir) _filedir -d; return ;;
        --protocol) COMPREPLY=($(compgen -W "smime openpgp" -- "$cur")); return ;;
        --algo) COMPREPLY=($(compgen -W "rsa2048 rsa4096 nistp256 ed25519" -- "$cur")); return ;;
        --hash) COMPREPLY=($(compgen -W "sha256 sha384 sha512" -- "$cur")); return ;;
    esac
    local options
    case "$command" in
        "") COMPREPLY=($(compgen -W "$commands $globals" -- "$cur")); return ;;
        keys) options="--token" ;;
        sign) options="--key --hash --pss --in --out" ;;
        pubkey) options="--key --out" ;;
        watch) options="--seconds" ;;
        policy) options="show check --user" ;;
        audit) options="verify show --since --log" ;;
        smime) options="sign verify encrypt decrypt csr import-cert --key --opaque --pss --hash --chain --ca --at --to --legacy-cbc --oaep --email --subject --in --out" ;;
        certs) options="add list export --key --out" ;;
        pgp) options="setup bind card-keygen import sign verify encrypt decrypt --homedir --card --pkcs11 --reader --key --uid --algo --replace --to --sign --in --out" ;;
        mail) options="protect open --key --protocol --homedir --ca --chain --at --in --out" ;;
    esac
    COMPREPLY=($(compgen -W "$options $globals" -- "$cur"))
    [[ "$command" == policy && "$prev" == check ]] && _filedir toml
}
complete -F _keyfence keyfence
