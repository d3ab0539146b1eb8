#define BOOST_TEST_MODULE family_unit
#include <boost/test/unit_test.hpp>
