# Well-known services for `seed.expose.<name>.enable = true`: name -> { port; protocol; }.
#
# Derived from the IANA list as shipped in /etc/services (Debian netbase): the port is the
# registered one; the protocol follows one rule so nobody has to remember exceptions:
#   - HTTP-family services (http, https, http-alt) are "http" (ingress + ACME),
#   - the DNS service is "dns" (TCP and UDP),
#   - anything registered for TCP is "tcp" (even when UDP is registered too),
#   - anything registered only for UDP is "udp".
# Aliases from /etc/services (www, postgres, imap, ...) are entries of their own so either
# name works. tests/nix/nix_meta_test.cpp checks every port here against /etc/services.
{
  # The web.
  http = { port = 80; protocol = "http"; };
  www = { port = 80; protocol = "http"; };
  https = { port = 443; protocol = "http"; };
  http-alt = { port = 8080; protocol = "http"; };
  webcache = { port = 8080; protocol = "http"; };

  # Names and remote access.
  dns = { port = 53; protocol = "dns"; };
  domain = { port = 53; protocol = "dns"; };
  ssh = { port = 22; protocol = "tcp"; };
  telnet = { port = 23; protocol = "tcp"; };
  ftp = { port = 21; protocol = "tcp"; };
  tftp = { port = 69; protocol = "udp"; };
  ntp = { port = 123; protocol = "udp"; };
  mdns = { port = 5353; protocol = "udp"; };
  syslog = { port = 514; protocol = "udp"; };
  snmp = { port = 161; protocol = "tcp"; };
  bgp = { port = 179; protocol = "tcp"; };
  kerberos = { port = 88; protocol = "tcp"; };
  ldap = { port = 389; protocol = "tcp"; };
  ldaps = { port = 636; protocol = "tcp"; };
  openvpn = { port = 1194; protocol = "tcp"; };
  rsync = { port = 873; protocol = "tcp"; };
  nfs = { port = 2049; protocol = "tcp"; };
  microsoft-ds = { port = 445; protocol = "tcp"; };

  # Mail and chat.
  smtp = { port = 25; protocol = "tcp"; };
  submission = { port = 587; protocol = "tcp"; };
  imap2 = { port = 143; protocol = "tcp"; };
  imap = { port = 143; protocol = "tcp"; };
  imaps = { port = 993; protocol = "tcp"; };
  pop3s = { port = 995; protocol = "tcp"; };
  xmpp-client = { port = 5222; protocol = "tcp"; };
  sip = { port = 5060; protocol = "tcp"; };
  ircs-u = { port = 6697; protocol = "tcp"; };

  # Data stores and queues.
  postgresql = { port = 5432; protocol = "tcp"; };
  postgres = { port = 5432; protocol = "tcp"; };
  mysql = { port = 3306; protocol = "tcp"; };
  ms-sql-s = { port = 1433; protocol = "tcp"; };
  redis = { port = 6379; protocol = "tcp"; };
  amqp = { port = 5672; protocol = "tcp"; };

  # Source control.
  git = { port = 9418; protocol = "tcp"; };
  svn = { port = 3690; protocol = "tcp"; };
  subversion = { port = 3690; protocol = "tcp"; };
}
