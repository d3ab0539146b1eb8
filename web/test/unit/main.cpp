#define BOOST_TEST_MODULE family web
#include <boost/test/unit_test.hpp>
