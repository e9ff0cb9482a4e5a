# The stub Seed's nixpkgs: only proves the templates' `follows` reaches it.
{ outputs = { self }: { stub = true; }; }
