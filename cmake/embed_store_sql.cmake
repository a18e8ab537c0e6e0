# Turns store/sql/<name>.sql into `const char AP_STORE_SQL_<NAME>[]` (the
# whole file, comments included, NUL-terminated) so the statements live in
# .sql files a person or psql can read, and the binaries carry them. Run with
# -DSRC_DIR= -DOUT=.
file(GLOB sql_files "${SRC_DIR}/*.sql")
list(SORT sql_files)
set(body "/* Generated from store/sql by cmake/embed_store_sql.cmake. */\n")
string(APPEND body "#include \"ap_store_sql.h\"\n\n")
foreach(f ${sql_files})
  get_filename_component(name ${f} NAME_WE)
  string(TOUPPER "${name}" upper)
  file(READ ${f} sql HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," sql "${sql}")
  string(APPEND body "const char AP_STORE_SQL_${upper}[] = {${sql} 0x00};\n")
endforeach()
file(WRITE "${OUT}.tmp" "${body}")
configure_file("${OUT}.tmp" "${OUT}" COPYONLY)
