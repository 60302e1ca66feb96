package plugindb

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5/pgxpool"
)

// pgxOnlyParams are connection-string settings pgx reads and lib/pq (under
// dbmate) would send to the server as unknown runtime parameters.
var pgxOnlyParams = map[string]bool{
	"statement_cache_capacity": true, "description_cache_capacity": true,
	"default_query_exec_mode": true, "min_read_buffer_size": true,
}

// connURL is a postgres:// URL for dbmate (lib/pq) that keeps every setting
// of the pool's connection string — sslmode, sslrootcert, sslcert, sslkey,
// sslsni, connect_timeout, application_name, options, target_session_attrs,
// ... — whether it was a URL or key=value pairs, with user, password and
// database as the pool uses them (a copy of a pool's config may name another
// database than its string). The host goes in the host parameter, which
// lib/pq reads as it is (an IPv6 address in the authority would not survive
// dbmate's rewriting of it).
func connURL(cfg *pgxpool.Config) (*url.URL, error) {
	cc := cfg.ConnConfig
	params, err := connParams(cfg.ConnString())
	if err != nil {
		return nil, err
	}
	for k := range params {
		if strings.HasPrefix(k, "pool_") || pgxOnlyParams[k] {
			delete(params, k)
		}
	}
	if params["host"] == "" {
		params["host"] = cc.Host
	}
	if params["port"] == "" {
		params["port"] = strconv.Itoa(int(cc.Port))
	}
	if params["sslmode"] == "" && os.Getenv("PGSSLMODE") == "" {
		// pgx's default is prefer; say so, whatever lib/pq's default is
		params["sslmode"] = "prefer"
		if cc.TLSConfig == nil {
			params["sslmode"] = "disable"
		}
	}
	user, password := cc.User, cc.Password
	for _, k := range []string{"user", "password", "dbname"} {
		delete(params, k)
	}
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	u := &url.URL{Scheme: "postgres", Path: "/" + cc.Database, RawQuery: q.Encode()}
	if password != "" {
		u.User = url.UserPassword(user, password)
	} else {
		u.User = url.User(user)
	}
	return u, nil
}

// connParams reads a connection string — a postgres:// or postgresql:// URL,
// or libpq key=value pairs — into its settings, by libpq's names (host,
// port, dbname, user, password, and the rest as given).
func connParams(s string) (map[string]string, error) {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return urlParams(s)
	}
	return keywordParams(s)
}

func urlParams(s string) (map[string]string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("connection URL: %w", err)
	}
	out := map[string]string{}
	if u.User != nil {
		out["user"] = u.User.Username()
		if pw, ok := u.User.Password(); ok {
			out["password"] = pw
		}
	}
	if u.Host != "" {
		var hosts, ports []string
		for _, hp := range strings.Split(u.Host, ",") {
			h, p, err := net.SplitHostPort(hp)
			if err != nil { // no port
				h, p = strings.Trim(hp, "[]"), ""
			}
			hosts, ports = append(hosts, h), append(ports, p)
		}
		out["host"] = strings.Join(hosts, ",")
		if strings.Join(ports, "") != "" {
			out["port"] = strings.Join(ports, ",")
		}
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		out["dbname"] = db
	}
	for k, v := range u.Query() {
		if len(v) > 0 {
			out[k] = v[len(v)-1]
		}
	}
	return out, nil
}

// keywordParams parses key=value pairs separated by spaces, values optionally
// single-quoted with \' and \\ escapes, as libpq does.
func keywordParams(s string) (map[string]string, error) {
	out := map[string]string{}
	rs := []rune(s)
	i := 0
	skip := func() {
		for i < len(rs) && unicode.IsSpace(rs[i]) {
			i++
		}
	}
	for {
		skip()
		if i >= len(rs) {
			return out, nil
		}
		start := i
		for i < len(rs) && rs[i] != '=' && !unicode.IsSpace(rs[i]) {
			i++
		}
		key := string(rs[start:i])
		skip()
		if i >= len(rs) || rs[i] != '=' {
			return nil, fmt.Errorf("connection string: %q has no value", key)
		}
		i++
		skip()
		var val strings.Builder
		if i < len(rs) && rs[i] == '\'' {
			i++
			for ; i < len(rs) && rs[i] != '\''; i++ {
				if rs[i] == '\\' && i+1 < len(rs) {
					i++
				}
				val.WriteRune(rs[i])
			}
			if i >= len(rs) {
				return nil, fmt.Errorf("connection string: unterminated quote in the value of %q", key)
			}
			i++
		} else {
			for ; i < len(rs) && !unicode.IsSpace(rs[i]); i++ {
				if rs[i] == '\\' && i+1 < len(rs) {
					i++
				}
				val.WriteRune(rs[i])
			}
		}
		out[key] = val.String()
	}
}
