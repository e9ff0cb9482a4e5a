# seedd and its helpers, built with meson from this repository. The unit tests need QEMU, nix
# and network namespaces, so they run in CI (scripts/test), not in this build.
{ lib, stdenv, meson, ninja, pkg-config, spdlog, fmt, nlohmann_json, curl, systemd, gtest
, libmicrohttpd }:
stdenv.mkDerivation {
  pname = "seedd";
  version = "0.1.0";
  src = lib.cleanSourceWith {
    src = ../.;
    # Only what meson reads: no build trees, docs or nix files, so editing those does not
    # rebuild seedd.
    filter = path: type:
      let rel = lib.removePrefix (toString ../. + "/") (toString path);
      in !(lib.hasPrefix "build" rel) && rel != "templates" && rel != "docs"
        && !(lib.hasSuffix ".nix" rel);
  };
  nativeBuildInputs = [ meson ninja pkg-config ];
  # gtest and libmicrohttpd are found at configure time for the test binaries.
  buildInputs = [ spdlog fmt nlohmann_json curl systemd gtest libmicrohttpd ];
  mesonBuildType = "release";
  doCheck = false;
  meta = {
    description = "Seed node daemon: NixOS instances in microVMs";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
    mainProgram = "seedd";
  };
}
