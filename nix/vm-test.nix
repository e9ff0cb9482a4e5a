# A NixOS VM test for real hosts (KVM, internet for nixpkgs): a host with services.seed
# boots, gets a local flake made from the `instance` template planted (with shoots on), and
# serves its page; a shoot from the instance (`seed-shoot`, from the NixOS shoot image
# nix/shoot-image.nix) writes to the instance's volume and the page shows it.
# It cannot run on the development machines of this project (no nixpkgs, no KVM for NixOS
# guests); docs/nix.md says how to run it.
{ self, pkgs }:
let
  # The tenant's flake: the template as it is. Its `inputs.seed.url = "flake:seed"` resolves
  # through the host's registry to this checkout (services.seed.flake), offline.
  tenantFlake = ../templates/instance;
in
pkgs.testers.runNixOSTest {
  name = "seed-instance";
  nodes.host = { pkgs, ... }: {
    imports = [ self.nixosModules.default ];
    virtualisation = {
      memorySize = 4096;
      cores = 2;
      diskSize = 8192;
      # Instances are VMs too: the test VM needs nested virtualisation.
      qemu.options = [ "-cpu host" ];
    };
    services.seed = {
      enable = true;
      domain = "seed.test";
      hypervisor = "qemu";
      ssh.port = 2222;
      # The ingress listens on the public addresses: the test fetches through loopback.
      publicAddresses = [ "127.0.0.1" ];
      shoot.enable = true;
    };
    environment.systemPackages = [ pkgs.git pkgs.curl pkgs.openssh pkgs.jq ];
    # The instance's closure is built on the host from the planted flake; offline, so
    # everything it needs must already be in the test VM's store.
    # (The test script turns shoots on in the tenant's web.nix: the same module as this one.)
    virtualisation.additionalPaths = [
      (self.lib.mkSeed { name = "web"; module = { imports = [ ../templates/instance/web.nix ]; seed.shoot.enable = true; }; }).toplevel
    ];
    nix.settings.substituters = pkgs.lib.mkForce [ ];
  };

  # seedctl (docs/seedctl.md), the SSH CLI (docs/sshcli.md) and the status JSON of
  # src/reconcile/service_json.hpp ({"schema", "sources": [{"instances": [...]}]}).
  testScript = ''
    host.wait_for_unit("seedd.service")
    host.succeed("cp -r ${tenantFlake} /root/app && chmod -R u+w /root/app")
    host.succeed("sed -i 's/^  seed.size = \"xs\";$/  seed.size = \"xs\";\\n  seed.shoot.enable = true;/' /root/app/web.nix && grep -q 'seed.shoot.enable = true' /root/app/web.nix")
    host.succeed("cd /root/app && git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm init")
    host.succeed('mkdir -p /root/.ssh && ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_ed25519')
    host.succeed("cp /root/.ssh/id_ed25519.pub /root/app/.authorized_keys && cd /root/app && git add -A && git -c user.email=t@t -c user.name=t commit -qm key")
    invite = host.succeed("seedctl invite create --json | jq -r .code").strip()
    host.succeed(f"ssh -o StrictHostKeyChecking=no -p 2222 root@localhost plant git+file:///root/app {invite}")
    host.wait_until_succeeds("ssh -o StrictHostKeyChecking=no -p 2222 root@localhost status --json | jq -e '.sources[].instances[] | select(.name == \"web\" and .state == \"running\")'", timeout=600)
    fqdn = host.succeed("ssh -o StrictHostKeyChecking=no -p 2222 root@localhost status --json | jq -r '.sources[].instances[] | select(.name == \"web\") | .dns_names[0]'").strip()
    host.wait_until_succeeds(f"curl -sf --resolve {fqdn}:80:127.0.0.1 http://{fqdn}/ | grep -q 'Hello from a Seed instance'", timeout=300)
    # A shoot: a fresh VM from the pool with the instance's volume, writing a page nginx serves.
    host.wait_until_succeeds("seedctl shoots --json | jq -e '.tiers[] | select(.name == \"small\" and .template == \"ready\")'", timeout=300)
    out = host.succeed("ssh -o StrictHostKeyChecking=no -p 2222 root@localhost exec web -- seed-shoot sh -c 'echo from-a-shoot > /seed/storage/data/www/shoot.txt; uname -r'")
    assert out.strip() != "", "the shoot printed nothing"
    host.succeed(f"curl -sf --resolve {fqdn}:80:127.0.0.1 http://{fqdn}/shoot.txt | grep -q from-a-shoot")
  '';
}
