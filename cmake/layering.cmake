# Layers point down only: reference/ <- results/ <- reports/, harness/ <- fuzz/.
# results/ needs the standard library and reference/ alone, and reports/ (so
# `smtpspec report` and render_report) must not pull in harness/, Asio, OpenSSL's
# TLS or toml++. A link that breaks this fails the configure step here instead
# of going unnoticed: these libraries' headers sit in /usr/include, so a stray
# link would compile silently.

# Sets `out` to every name `target` links: its own link libraries, then the
# usage requirements (INTERFACE_LINK_LIBRARIES, which for a static library also
# carry its private links as $<LINK_ONLY:...>) of each target among them.
# Aliases are resolved; names that are not targets (plain libraries, imported
# targets of another directory) are listed but not followed.
function(smtpspec_link_closure target out)
  set(seen "")
  set(todo "${target}")
  while(todo)
    list(POP_FRONT todo name)
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" name "${name}")
    if(name MATCHES "^(\\$<|::@)")  # another generator expression, or a directory marker
      continue()
    endif()
    if(TARGET "${name}")
      get_target_property(aliased "${name}" ALIASED_TARGET)
      if(aliased)
        set(name "${aliased}")
      endif()
    endif()
    if(name IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${name}")
    if(NOT TARGET "${name}")
      continue()
    endif()
    get_target_property(type "${name}" TYPE)
    if(name STREQUAL target AND NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(deps "${name}" LINK_LIBRARIES)
    else()
      get_target_property(deps "${name}" INTERFACE_LINK_LIBRARIES)
    endif()
    if(deps)
      list(APPEND todo ${deps})
    endif()
  endwhile()
  list(REMOVE_ITEM seen "${target}")
  set(${out} "${seen}" PARENT_SCOPE)
endfunction()

# smtpspec_check_links(<target> [ONLY <regex>] [NOT <regex>]): fails the configure
# step if `target` (when it exists) links a name that does not match ONLY, or one
# that matches NOT.
function(smtpspec_check_links target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "ONLY;NOT" "")
  if(NOT TARGET "${target}")
    return()
  endif()
  smtpspec_link_closure("${target}" closure)
  foreach(name IN LISTS closure)
    if((arg_ONLY AND NOT name MATCHES "${arg_ONLY}") OR (arg_NOT AND name MATCHES "${arg_NOT}"))
      message(FATAL_ERROR "layering: ${target} links ${name} (it links: ${closure}); see cmake/layering.cmake")
    endif()
  endforeach()
endfunction()

# Asio (Boost), OpenSSL's TLS, toml++, and harness/ that brings them.
set(_smtpspec_io_links "^(smtpspec_harness|smtpspec::harness|smtpspec_asio|Boost::.*|OpenSSL::SSL|ssl|tomlplusplus::.*)$")
smtpspec_check_links(smtpspec_results ONLY "^(smtpspec_reference|smtpspec_warnings)$")
foreach(_t results_tests smtpspec_reports reports_tests render_report)
  smtpspec_check_links(${_t} NOT "${_smtpspec_io_links}")
endforeach()
