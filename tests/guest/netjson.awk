# netjson.awk - flatten a JSON document into "path=value" lines (busybox awk).
#
#   awk -f netjson.awk network.json
#
# Objects add ".key", arrays add ".N" (0-based) to the path; the root has an
# empty path, so {"interfaces":[{"mac":"x","addresses":["a","b"]}],"dns":["d"]}
# prints
#   interfaces.0.mac=x
#   interfaces.0.addresses.0=a
#   interfaces.0.addresses.1=b
#   dns.0=d
# Strings are unescaped (\uXXXX outside ASCII becomes "?"); control characters
# in values become spaces so every value stays on one line. true/false/null
# and numbers are printed verbatim. On a syntax error it prints a message to
# stderr and exits 1 (the lines printed so far must then be ignored).

function fail(msg) {
	printf "netjson: %s at offset %d\n", msg, pos > "/dev/stderr"
	failed = 1
	exit 1
}

function ws() {
	while (pos <= n && index(" \t\r\n", substr(s, pos, 1)))
		pos++
}

function emit(path, v) {
	gsub(/[\001-\037]/, " ", v)
	print path "=" v
}

function join(path, key) {
	return path == "" ? key : path "." key
}

function value(path, depth,   c) {
	if (depth > 32)
		fail("nesting too deep")
	ws()
	if (pos > n)
		fail("unexpected end of input")
	c = substr(s, pos, 1)
	if (c == "{")
		object(path, depth)
	else if (c == "[")
		array(path, depth)
	else if (c == "\"")
		emit(path, string())
	else
		literal(path)
}

function object(path, depth,   key, c) {
	pos++
	ws()
	if (substr(s, pos, 1) == "}") {
		pos++
		return
	}
	while (1) {
		ws()
		if (substr(s, pos, 1) != "\"")
			fail("expected a string key")
		key = string()
		ws()
		if (substr(s, pos, 1) != ":")
			fail("expected ':'")
		pos++
		value(join(path, key), depth + 1)
		ws()
		c = substr(s, pos, 1)
		pos++
		if (c == ",")
			continue
		if (c == "}")
			return
		pos--
		fail("expected ',' or '}'")
	}
}

function array(path, depth,   i, c) {
	pos++
	ws()
	if (substr(s, pos, 1) == "]") {
		pos++
		return
	}
	i = 0
	while (1) {
		value(join(path, i), depth + 1)
		i++
		ws()
		c = substr(s, pos, 1)
		pos++
		if (c == ",")
			continue
		if (c == "]")
			return
		pos--
		fail("expected ',' or ']'")
	}
}

function string(   out, c, e, code) {
	pos++
	out = ""
	while (pos <= n) {
		c = substr(s, pos, 1)
		if (c == "\"") {
			pos++
			return out
		}
		if (c == "\\") {
			e = substr(s, pos + 1, 1)
			pos += 2
			if (e == "n" || e == "r" || e == "t" || e == "b" || e == "f")
				out = out " "
			else if (e == "u") {
				code = substr(s, pos, 4)
				if (code !~ /^[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]$/)
					fail("bad \\u escape")
				pos += 4
				if (code ~ /^00[2-7]/)
					out = out sprintf("%c", hex(code))
				else
					out = out "?"
			} else if (e == "\"" || e == "\\" || e == "/")
				out = out e
			else
				fail("bad escape")
			continue
		}
		out = out c
		pos++
	}
	fail("unterminated string")
}

function hex(h,   i, v) {
	v = 0
	h = tolower(h)
	for (i = 1; i <= length(h); i++)
		v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
	return v
}

function literal(path,   rest) {
	rest = substr(s, pos, 64)
	if (match(rest, /^(true|false|null|-?[0-9][0-9.eE+-]*)/)) {
		emit(path, substr(rest, 1, RLENGTH))
		pos += RLENGTH
		return
	}
	fail("unexpected character '" substr(s, pos, 1) "'")
}

{ s = s $0 "\n" }

END {
	if (failed)
		exit 1
	n = length(s)
	pos = 1
	value("", 0)
	ws()
	if (pos <= n)
		fail("trailing data")
}
