# One place for the warning set: every target of ours links smtpspec_warnings.
add_library(smtpspec_warnings INTERFACE)
target_compile_options(smtpspec_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic)
if(SMTPSPEC_WERROR)
  target_compile_options(smtpspec_warnings INTERFACE -Werror)
endif()
