# Turns deploy/migrations/*.sql into a C array so autopostctl carries its own
# migrations (a container needs no extra files). Run with -DSRC_DIR= -DOUT=.
file(GLOB sql_files "${SRC_DIR}/*.sql")
list(SORT sql_files)
set(body "/* Generated from deploy/migrations by cmake/embed_migrations.cmake. */\n")
string(APPEND body "#include \"ctl_migrations.h\"\n\nconst ap_migration ap_migrations[] = {\n")
foreach(f ${sql_files})
  get_filename_component(name ${f} NAME_WE)
  string(REGEX MATCH "^[0-9]+" version "${name}")
  # "0008" would be an octal literal in C: drop the leading zeros.
  string(REGEX REPLACE "^0+([0-9])" "\\1" version "${version}")
  file(READ ${f} sql HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," sql "${sql}")
  string(APPEND body "    {${version}, \"${name}\", (const char[]){${sql} 0x00}},\n")
endforeach()
string(APPEND body "    {0, 0, 0},\n};\n")
file(WRITE "${OUT}.tmp" "${body}")
configure_file("${OUT}.tmp" "${OUT}" COPYONLY)
