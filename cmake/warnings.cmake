# One place for the warning set: every target of ours links smtpspec_warnings.
add_library(smtpspec_warnings INTERFACE)
target_compile_options(smtpspec_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12 reports -Wrestrict and -Wmaybe-uninitialized inside libstdc++'s own
  # std::string code at -O2/-O3 (GCC bugs 105329 and 105651), for code such as
  # "literal" + std::string. They point at no defect of ours; clang keeps the
  # equivalent diagnostics on.
  target_compile_options(smtpspec_warnings INTERFACE -Wno-restrict -Wno-maybe-uninitialized)
endif()
if(SMTPSPEC_WERROR)
  target_compile_options(smtpspec_warnings INTERFACE -Werror)
endif()
