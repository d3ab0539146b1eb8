#define BOOST_TEST_MODULE family status
#include <boost/test/unit_test.hpp>
