# nixosModules.guest: everything an instance gets besides its own module. lib.mkSeed adds this
# (with sops-nix) to every instance; see docs/nix.md.
{
  imports = [
    ./options.nix # seed.* options, meta, firewall, /etc/seed/connect (needs only lib)
    ./boot.nix # microVM boot: kernel, initrd, tmpfs root, shares
    ./runtime.nix # /run/seed/env, network.json, the agent, seed-shoot
    ./tpm.nix # TPM-backed age identity for sops-nix
  ];
}
