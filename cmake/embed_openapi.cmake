# Turns api/openapi.yaml into a C array, so autopost-api serves the very
# document kept beside its code (parsed at start-up, GET /v1/openapi.json)
# with no second copy to keep in step. Run with -DSRC= -DOUT=.
file(SIZE ${SRC} size)
file(READ ${SRC} data HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," data "${data}")
set(body "/* Generated from api/openapi.yaml by cmake/embed_openapi.cmake. */\n")
string(APPEND body "#include <stddef.h>\n\n")
string(APPEND body "const unsigned char api_openapi_yaml[] = {${data} 0x00};\n")
string(APPEND body "const size_t api_openapi_yaml_len = ${size};\n")
file(WRITE "${OUT}.tmp" "${body}")
configure_file("${OUT}.tmp" "${OUT}" COPYONLY)
