import XCTest
@testable import FingerprintVerifier

/// The double-double logarithm behind the binomial tails, against mpmath at 60 digits.
final class DoubleDoubleTests: XCTestCase {
    func testLogarithmToDoubleDoublePrecision() {
        // (x, log x as high + low), from mpmath with x the exact double.
        let references: [(Double, Double, Double)] = [
            (3.0, 1.0986122886681098, -9.07129723500153e-17),
            (1e300, 690.7755278982137, 2.3747660028800243e-14),
            (0.1, -2.3025850929940455, -1.7150243628057985e-16),
            (1.4142135623730951, 0.3465735902799727, 2.4442169414592898e-17),
            (0.7, -0.35667494393873245, 4.82556379937662e-18),
            (1.0000000001, 1.000000082690371e-10, -4.2169170658954805e-27),
            (Double("5e-310")!, -712.19194091572, -5.4018597932991334e-14),
        ]
        for (x, high, low) in references {
            let result = DoubleDouble.log(DoubleDouble(x))
            let error = ((result.high - high) + (result.low - low)) / abs(high)
            XCTAssertLessThan(abs(error), 1e-19, "log(\(x)) = \(result.high) + \(result.low)")
        }
        XCTAssertEqual(DoubleDouble.log(DoubleDouble(1)).value, 0)
    }

    func testExactSumsAndProducts() {
        let sum = DoubleDouble.twoSum(1, 1e-20)
        XCTAssertEqual(sum.high, 1)
        XCTAssertEqual(sum.low, 1e-20)
        let product = DoubleDouble.twoProduct(1 + 0x1p-30, 1 - 0x1p-30)  // 1 − 2^-60
        XCTAssertEqual(product.high, 1)
        XCTAssertEqual(product.low, -0x1p-60)
        let third = DoubleDouble(1) / DoubleDouble(3)
        XCTAssertEqual((third * DoubleDouble(3) - DoubleDouble(1)).value, 0, accuracy: 1e-31)
    }
}
