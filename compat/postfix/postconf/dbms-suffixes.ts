/**
 * postconf/dbms-suffixes.ts: the settings each database client accepts
 * (ldap_table(5), mysql_table(5), pgsql_table(5), sqlite_table(5),
 * memcache_table(5)). postconf uses them to flag unknown names in a client
 * file ("mysql:/etc/postfix/x.cf: unused parameter: …") and to accept the
 * legacy main.cf form `ldap:name` + `name_server_host = …`.
 */
const SQL_LEGACY = ['table', 'select_field', 'where_field', 'additional_conditions'];

export const DBMS_SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  ldap: [
    'domain', 'bind', 'bind_dn', 'bind_pw', 'cache', 'cache_expiry', 'cache_size', 'chase_referrals',
    'debuglevel', 'dereference', 'expansion_limit', 'leaf_result_attribute', 'query_filter',
    'recursion_limit', 'result_attribute', 'result_filter', 'result_format', 'sasl_authz_id', 'sasl_mechs',
    'sasl_minssf', 'sasl_realm', 'scope', 'search_base', 'server_host', 'server_port', 'size_limit',
    'special_result_attribute', 'start_tls', 'terminal_result_attribute', 'timeout', 'tls_ca_cert_dir',
    'tls_ca_cert_file', 'tls_cert', 'tls_cipher_suite', 'tls_key', 'tls_random_file', 'tls_require_cert',
    'version',
  ].sort(),
  mysql: [
    'domain', ...SQL_LEGACY, 'dbname', 'expansion_limit', 'hosts', 'option_file', 'option_group', 'password',
    'query', 'require_result_set', 'result_format', 'tls_CAfile', 'tls_CApath', 'tls_cert_file', 'tls_ciphers',
    'tls_key_file', 'tls_verify_cert', 'user',
  ].sort(),
  pgsql: [
    'domain', ...SQL_LEGACY, 'dbname', 'expansion_limit', 'hosts', 'password', 'query', 'result_format',
    'select_function', 'user',
  ].sort(),
  sqlite: ['domain', ...SQL_LEGACY, 'dbpath', 'expansion_limit', 'query', 'result_format'].sort(),
  memcache: [
    'domain', 'memcache', 'backup', 'key_format', 'ttl', 'timeout', 'flags', 'max_try', 'line_size_limit',
    'data_size_limit', 'retry_pause',
  ].sort(),
};
