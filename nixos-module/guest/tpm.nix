# Secrets: the instance's vTPM (swtpm on the host) holds an age identity created on first
# boot; sops-nix decrypts with it. The identity file lives on the persistent seed-tpm share
# (useless without this instance's TPM); the recipient beside it is what `ssh <node> keys`
# shows. Creation runs in activation, before sops-nix's setupSecrets, so secrets decrypt on
# the very boot that follows the first one.
{ config, lib, pkgs, ... }:
let
  dir = "/seed/tpm";
  identity = "${dir}/age-identity";
  recipient = "${dir}/age-recipient";
  plugin = pkgs.age-plugin-tpm;
in
{
  sops.age.keyFile = lib.mkDefault identity;
  sops.age.plugins = [ plugin ];
  # A guest has no SSH host keys to derive age or GPG keys from.
  sops.age.sshKeyPaths = lib.mkDefault [ ];
  sops.gnupg.sshKeyPaths = lib.mkDefault [ ];

  system.activationScripts.seed-tpm-identity = {
    deps = [ "specialfs" ];
    text = ''
      if ${pkgs.util-linux}/bin/mountpoint -q ${dir} && [ -e /dev/tpmrm0 ]; then
        if [ ! -s ${identity} ]; then
          ${plugin}/bin/age-plugin-tpm --generate -o ${identity}.tmp && mv ${identity}.tmp ${identity} \
            || echo "seed: cannot create the TPM age identity ${identity}" >&2
        fi
        if [ -s ${identity} ] && [ ! -s ${recipient} ]; then
          ${plugin}/bin/age-plugin-tpm -y ${identity} > ${recipient}.tmp && mv ${recipient}.tmp ${recipient} \
            || echo "seed: cannot derive the age recipient from ${identity}" >&2
        fi
      else
        echo "seed: no TPM or no ${dir} share; secrets cannot be decrypted" >&2
      fi
    '';
  };
  system.activationScripts.setupSecrets = lib.mkIf
    (config.sops.secrets != { } && !(config.sops.useSystemdActivation or false))
    { deps = [ "seed-tpm-identity" ]; };
}
