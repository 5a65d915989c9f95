# install.cmake — `cmake --install` layout (GNUInstallDirs), pkg-config file,
# CMake package config, man pages, shell completions and the Debian package
# (CPack).  Included from CMakeLists.txt after the targets are defined.
include(CMakePackageConfigHelpers)

# ---- RPATH -------------------------------------------------------------------
# Under a prefix whose libdir is not on the loader's path (/usr/local, a home
# folder, a test prefix) the programs find libclipsearch.so.N through
# $ORIGIN/../LIBDIR.  Installed under /usr (the .deb: CPack installs into
# .../usr) the RPATH is removed again: the library is in a system folder and
# Debian forbids custom search paths.
file(RELATIVE_PATH CS_BIN_TO_LIB "/${CMAKE_INSTALL_BINDIR}" "/${CMAKE_INSTALL_LIBDIR}")
set_target_properties(clipsearch-cli clipsearch-index PROPERTIES
  INSTALL_RPATH "$ORIGIN/${CS_BIN_TO_LIB}")

# ---- programs, libraries, headers ------------------------------------------------
install(TARGETS clipsearch-cli clipsearch-index
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
foreach(prog clipsearch clipsearch-index)
  install(CODE "
    set(_f \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/${prog}\")
    if(CMAKE_INSTALL_PREFIX MATCHES \"(^|/)usr/?$\" AND EXISTS \"\${_f}\")
      file(RPATH_REMOVE FILE \"\${_f}\")
    endif()")
endforeach()
install(TARGETS clipsearch_shared EXPORT clipsearchTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/clipsearch.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/clipsearch
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(FILES ${CMAKE_BINARY_DIR}/generated/include/clipsearch/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/clipsearch)

# The installed static library carries FAISS's C API too (scripts/
# build-faiss-c.sh builds it as a static archive that Debian does not ship),
# so static users need only Debian packages: one archive made with ar's MRI
# script from libclipsearch.a and libfaiss_c.a.
set(CS_STATIC_INSTALL ${CMAKE_BINARY_DIR}/install/libclipsearch.a)
if(FAISS_C_LIB MATCHES "\\.a$")
  file(WRITE ${CMAKE_BINARY_DIR}/install/merge.mri
    "create ${CS_STATIC_INSTALL}\naddlib $<TARGET_FILE:clipsearch>\naddlib ${FAISS_C_LIB}\nsave\nend\n")
  file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/install/merge-$<CONFIG>.mri
    INPUT ${CMAKE_BINARY_DIR}/install/merge.mri)
  add_custom_command(OUTPUT ${CS_STATIC_INSTALL}
    COMMAND ${CMAKE_COMMAND} -E rm -f ${CS_STATIC_INSTALL}
    COMMAND ${CMAKE_AR} -M < ${CMAKE_BINARY_DIR}/install/merge-$<CONFIG>.mri
    COMMAND ${CMAKE_RANLIB} ${CS_STATIC_INSTALL}
    DEPENDS clipsearch ${FAISS_C_LIB}
    COMMENT "libclipsearch.a with FAISS's C API for installing" VERBATIM)
  set(CS_PC_FAISS_C "")
else()
  add_custom_command(OUTPUT ${CS_STATIC_INSTALL}
    COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:clipsearch> ${CS_STATIC_INSTALL}
    DEPENDS clipsearch VERBATIM)
  set(CS_PC_FAISS_C "-lfaiss_c ")
endif()
add_custom_target(clipsearch_static_install ALL DEPENDS ${CS_STATIC_INSTALL})
install(FILES ${CS_STATIC_INSTALL} DESTINATION ${CMAKE_INSTALL_LIBDIR})

# ---- pkg-config --------------------------------------------------------------------
file(RELATIVE_PATH CS_PC_RELATIVE_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" CS_PC_RELATIVE_PREFIX "${CS_PC_RELATIVE_PREFIX}")
# No Requires.private: `pkg-config --cflags --libs clipsearch` must work with
# the shared library alone, without the dependencies' -dev packages.  For
# --static, the dependencies' own linker flags as found here.
set(CS_PC_LIBS_PRIVATE "${CS_PC_FAISS_C}-lfaiss -llapack")
foreach(dep OPENBLAS CJSON UTF8PROC JPEG PNG WEBP HEIF SQLITE3 XXHASH CURL NETTLE MHD TIFF AVIF JXL LIBRAW)
  foreach(flag ${${dep}_LDFLAGS})
    string(REGEX REPLACE "/$" "" flag "${flag}")
    if(flag MATCHES "^-L(/usr)?/lib(/${CMAKE_LIBRARY_ARCHITECTURE})?$")
      continue()   # the linker's default folders
    endif()
    string(FIND " ${CS_PC_LIBS_PRIVATE} " " ${flag} " seen)  # not a regex: -lstdc++
    if(seen EQUAL -1)
      string(APPEND CS_PC_LIBS_PRIVATE " ${flag}")
    endif()
  endforeach()
endforeach()
if(CS_HAVE_ONEDNN)
  string(APPEND CS_PC_LIBS_PRIVATE " -ldnnl")
endif()
string(APPEND CS_PC_LIBS_PRIVATE " -lgif -lz -fopenmp -lpthread -lm")
string(FIND " ${CS_PC_LIBS_PRIVATE} " " -lstdc++ " seen)
if(seen EQUAL -1)
  string(APPEND CS_PC_LIBS_PRIVATE " -lstdc++")
endif()
configure_file(${CMAKE_SOURCE_DIR}/cmake/clipsearch.pc.in
  ${CMAKE_BINARY_DIR}/install/clipsearch.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/install/clipsearch.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- CMake package: find_package(clipsearch) -> clipsearch::clipsearch -------------
set(CS_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/clipsearch)
install(EXPORT clipsearchTargets NAMESPACE clipsearch:: DESTINATION ${CS_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/clipsearchConfig.cmake.in
  ${CMAKE_BINARY_DIR}/install/clipsearchConfig.cmake INSTALL_DESTINATION ${CS_CMAKE_DIR})
# 0.x: every minor version may change the API.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/install/clipsearchConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/install/clipsearchConfig.cmake
  ${CMAKE_BINARY_DIR}/install/clipsearchConfigVersion.cmake DESTINATION ${CS_CMAKE_DIR})

# ---- man pages (scdoc sources in docs/man/) --------------------------------------
find_program(SCDOC_EXECUTABLE scdoc)
find_program(GZIP_EXECUTABLE gzip)
if(SCDOC_EXECUTABLE AND GZIP_EXECUTABLE)
  set(CS_MAN_OUTPUTS)
  foreach(page clipsearch clipsearch-index)
    set(src ${CMAKE_SOURCE_DIR}/docs/man/${page}.1.scd)
    set(out ${CMAKE_BINARY_DIR}/man/${page}.1)
    add_custom_command(OUTPUT ${out} ${out}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      COMMAND sh -c "'${SCDOC_EXECUTABLE}' < '${src}' > '${out}'"
      COMMAND sh -c "'${GZIP_EXECUTABLE}' -9n -c '${out}' > '${out}.gz'"
      DEPENDS ${src} COMMENT "Man page ${page}(1)" VERBATIM)
    list(APPEND CS_MAN_OUTPUTS ${out} ${out}.gz)
    install(FILES ${out}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  endforeach()
  add_custom_target(clipsearch_man ALL DEPENDS ${CS_MAN_OUTPUTS})
else()
  message(WARNING "scdoc not found: no man pages (run scripts/setup.sh)")
endif()

# ---- shell completions --------------------------------------------------------------
install(FILES ${CMAKE_SOURCE_DIR}/completions/clipsearch.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME clipsearch)
install(FILES ${CMAKE_SOURCE_DIR}/completions/clipsearch.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME clipsearch-index)
# zsh: Debian's zsh reads /usr/share/zsh/vendor-completions, and
# PREFIX/share/zsh/site-functions elsewhere; chosen when installing (the
# .deb installs under .../usr) unless CLIPSEARCH_ZSH_COMPLETION_DIR is set.
set(CLIPSEARCH_ZSH_COMPLETION_DIR "" CACHE STRING
  "Where the zsh completion goes (relative to the prefix; empty: see above)")
install(CODE "
  set(_d \"${CLIPSEARCH_ZSH_COMPLETION_DIR}\")
  if(NOT _d AND CMAKE_INSTALL_PREFIX MATCHES \"(^|/)usr/?$\")
    set(_d \"${CMAKE_INSTALL_DATAROOTDIR}/zsh/vendor-completions\")
  elseif(NOT _d)
    set(_d \"${CMAKE_INSTALL_DATAROOTDIR}/zsh/site-functions\")
  endif()
  file(INSTALL \"${CMAKE_SOURCE_DIR}/completions/_clipsearch\"
       DESTINATION \"\${CMAKE_INSTALL_PREFIX}/\${_d}\")")
install(FILES ${CMAKE_SOURCE_DIR}/completions/clipsearch.fish
  ${CMAKE_SOURCE_DIR}/completions/clipsearch-index.fish
  DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

# ---- Debian package: cpack -G DEB ------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME clipsearch)
set(CPACK_PACKAGE_VENDOR "clipsearch")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "local photo search with CLIP embeddings")
# The extended description (CPack puts the summary first and indents).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "clipsearch indexes photo folders with CLIP image embeddings, kept in SQLite
plus a FAISS index, and finds photos by words or by an example photo, on
this machine, without a GPU.  It also offers a local search page, zero-shot
classification, automatic tags and personal classifiers.
.
This package holds the programs clipsearch and clipsearch-index and the C
library libclipsearch (shared and static, headers, pkg-config and CMake
files).")
set(CLIPSEARCH_DEB_MAINTAINER "clipsearch maintainers <clipsearch@localhost>" CACHE STRING
  "Maintainer field of the .deb (NAME <EMAIL>)")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CLIPSEARCH_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION graphics)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Dependencies computed by dpkg-shlibdeps from what the binaries link.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")
set(CPACK_STRIP_FILES ON)
# The package's changelog (Debian policy); the build has no other.
string(TIMESTAMP CS_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${CMAKE_SOURCE_DIR}/cmake/debian-changelog.in
  ${CMAKE_BINARY_DIR}/install/changelog.Debian @ONLY)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/install/changelog.Debian.gz
  COMMAND sh -c "gzip -9n -c '${CMAKE_BINARY_DIR}/install/changelog.Debian' > '${CMAKE_BINARY_DIR}/install/changelog.Debian.gz'"
  DEPENDS ${CMAKE_BINARY_DIR}/install/changelog.Debian VERBATIM)
add_custom_target(clipsearch_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/install/changelog.Debian.gz)
# Only a system install (the .deb) gets the Debian changelog.
install(CODE "
  if(CMAKE_INSTALL_PREFIX MATCHES \"(^|/)usr/?$\")
    file(INSTALL \"${CMAKE_BINARY_DIR}/install/changelog.Debian.gz\"
         DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATAROOTDIR}/doc/clipsearch\")
  endif()")
# ldconfig runs from a dpkg trigger, not from maintainer scripts (which
# CPack would otherwise generate for a library in a system folder).
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/cmake/deb/triggers ${CMAKE_SOURCE_DIR}/cmake/deb/postinst
  ${CMAKE_SOURCE_DIR}/cmake/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
