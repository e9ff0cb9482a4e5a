{
  description = "Seed: NixOS instances in hardware-isolated microVMs on one node";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    sops-nix = {
      url = "github:Mic92/sops-nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { self, nixpkgs, sops-nix }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
    in
    {
      lib = {
        # { name; module; system ? "x86_64-linux"; modules ? [ ]; } -> { meta; toplevel; config; }
        mkSeed = import ./lib/mk-seed.nix {
          inherit nixpkgs;
          guestModule = self.nixosModules.guest;
        };
        # The seed.* rules as plain functions (no nixpkgs): meta.mkMeta, meta.problems, ...
        meta = import ./lib/meta.nix;
      };

      nixosModules = {
        # The host: services.seed.
        default = { lib, pkgs, ... }: {
          imports = [ ./nixos-module/host ];
          services.seed.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.seedd;
          services.seed.flake = lib.mkDefault self;
          services.seed.shoot.image = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.shoot-image;
        };
        # An instance: the seed.* options and the microVM boot profile (with sops-nix).
        guest = {
          imports = [ ./nixos-module/guest sops-nix.nixosModules.sops ];
        };
      };

      packages.${system} = {
        seedd = pkgs.callPackage ./nix/seedd.nix { };
        # The generic guest shoot templates boot (services.seed.shoot.image).
        shoot-image = pkgs.callPackage ./nix/shoot-image.nix { };
        default = self.packages.${system}.seedd;
      };

      templates = {
        instance = {
          path = ./templates/instance;
          description = "One instance: nginx serving a static site from a volume";
        };
        instance-caddy = {
          path = ./templates/instance-caddy;
          description = "Caddy with TLS from the node's ACME facade, in front of a small app";
        };
        instance-api = {
          path = ./templates/instance-api;
          description = "An API server reading a key from sops-nix (TPM-backed age identity)";
        };
        multi = {
          path = ./templates/multi;
          description = "Two instances: a Caddy web frontend and an API backend";
        };
        default = self.templates.instance;
      };

      devShells.${system}.default = pkgs.mkShell {
        inputsFrom = [ self.packages.${system}.seedd ];
        packages = with pkgs; [ clang-tools gdb qemu_kvm swtpm virtiofsd jq nixpkgs-fmt ];
      };

      checks.${system} = import ./nix/checks.nix { inherit self pkgs; };
    };
}
