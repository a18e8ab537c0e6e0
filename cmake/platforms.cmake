# ap_platform_header(LIST OUT_DIR NAMES_VAR): reads common/platforms.list and
# writes OUT_DIR/ap_platform_list.h, one
#   AP_PLATFORM(name, "base_url", "api_version", cap, cap_window_hours, reports_usage)
# line per platform, for the C tables to expand; NAMES_VAR gets the names (a
# platform's adapter is publishers/platforms/<name>.c, its imitation tests/sandbox/<name>.c).
# Used by the top-level project and by the sandbox's standalone build.
function(ap_platform_header list out_dir names_var)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${list})
  file(STRINGS ${list} lines REGEX "^[a-z0-9]")
  set(body "")
  set(names "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "[ \t]+" ";" fields "${line}")
    list(LENGTH fields n)
    if(NOT n EQUAL 6)
      message(FATAL_ERROR "${list}: \"${line}\": expected 6 columns, found ${n}")
    endif()
    list(GET fields 0 name)
    list(GET fields 1 url)
    list(GET fields 2 version)
    list(GET fields 3 cap)
    list(GET fields 4 hours)
    list(GET fields 5 reports)
    if(NOT name MATCHES "^[a-z0-9]+$" OR NOT url MATCHES "^https?://[^\"\\\\]+$"
       OR NOT version MATCHES "^[A-Za-z0-9.]+$" OR NOT cap MATCHES "^[0-9]+$"
       OR NOT hours MATCHES "^[0-9]+$" OR NOT reports MATCHES "^(yes|no)$")
      message(FATAL_ERROR "${list}: \"${line}\": a column is not of its kind (see the comment at the top)")
    endif()
    if(reports STREQUAL "yes")
      set(reports true)
    else()
      set(reports false)
    endif()
    string(APPEND body "AP_PLATFORM(${name}, \"${url}\", \"${version}\", ${cap}, ${hours}, ${reports})\n")
    list(APPEND names ${name})
  endforeach()
  if(names STREQUAL "")
    message(FATAL_ERROR "${list}: no platform")
  endif()
  file(CONFIGURE OUTPUT ${out_dir}/ap_platform_list.h CONTENT
    "/* Generated from common/platforms.list (cmake/platforms.cmake): edit the list. */\n${body}")
  set(${names_var} ${names} PARENT_SCOPE)
endfunction()
