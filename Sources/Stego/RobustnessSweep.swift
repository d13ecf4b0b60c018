import Forensics
import Foundation
import Imaging
import NN
import Tensor

/// What one point of a robustness sweep does: nothing (the reference point), an image
/// perturbation of the decoder's input, or a perturbation of the generator's weights.
public enum RobustnessAttack: Hashable, Sendable, CustomStringConvertible {
    case none
    case image(Perturbation)
    case model(ModelPerturbation)

    /// `none`, or the perturbation's CLI spelling (`noise:0.05`, `weight-noise:0.1`).
    public var description: String {
        switch self {
        case .none: "none"
        case .image(let perturbation): perturbation.description
        case .model(let perturbation): perturbation.description
        }
    }
}

/// A robustness curve to measure: attacks of increasing strength, each at a value of the x axis.
/// By convention the first point is `.none`, the unperturbed reference.
public struct RobustnessSweep: Hashable, Sendable {
    /// One attack and its place on the x axis.
    public struct Point: Hashable, Sendable {
        public var x: Double
        public var attack: RobustnessAttack

        public init(x: Double, attack: RobustnessAttack) { (self.x, self.attack) = (x, attack) }
    }

    /// A short name (`noise`), used for file names and `--sweeps`.
    public var name: String
    /// What the plot's title names (`JPEG compression`).
    public var title: String
    public var xLabel: String
    public var points: [Point]
    /// Whether plots draw x decreasing to the right (JPEG quality, crop size, decimals), so that
    /// the attack always grows to the right.
    public var reversesXAxis: Bool

    /// A sweep; `title` defaults to `name`.
    public init(name: String, title: String? = nil, xLabel: String, points: [Point], reversesXAxis: Bool = false) {
        (self.name, self.title, self.xLabel, self.points, self.reversesXAxis) = (name, title ?? name, xLabel, points, reversesXAxis)
    }

    /// Whether a point perturbs the generator's weights (the sweep needs a generator).
    public var perturbsModel: Bool {
        points.contains { if case .model = $0.attack { true } else { false } }
    }

    // MARK: The papers' sweeps

    /// Gaussian noise σ from 0 to 0.3 in [0, 1] units; the ICCV'21 paper (§5.4, Fig. 3) keeps accuracy ≥ 0.75 to σ ≈ 0.05.
    public static let noise = RobustnessSweep(
        name: "noise", title: "Gaussian noise", xLabel: "Gaussian noise standard deviation",
        points: [Point(x: 0, attack: .none)] + [0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3].map {
            Point(x: $0, attack: .image(.gaussianNoise(standardDeviation: Float($0))))
        })

    /// Gaussian blur, kernel sizes 1 (the reference) to 9, OpenCV's default sigma; the paper's working range is k ≤ 5.
    public static let blur = RobustnessSweep(
        name: "blur", title: "Gaussian blur", xLabel: "Gaussian blur kernel size",
        points: [Point(x: 1, attack: .none)] + [3, 5, 7, 9].map { Point(x: Double($0), attack: .image(.gaussianBlur(kernelSize: $0))) })

    /// JPEG quality 90 down to 10, the unperturbed reference drawn at 100; the paper's working range is quality ≥ 50.
    public static let jpeg = RobustnessSweep(
        name: "jpeg", title: "JPEG compression", xLabel: "JPEG quality",
        points: [Point(x: 100, attack: .none)] + stride(from: 90, through: 10, by: -10).map {
            Point(x: Double($0), attack: .image(.jpeg(quality: $0)))
        },
        reversesXAxis: true)

    /// Centre crops from the full side `resolution` down to half of it in steps of R/16 (at
    /// least 1 pixel), each resized back to R: 32, 30, …, 16 for 32×32 images, and the paper's
    /// 128 … 64 (working range ≥ 86) for 128×128.
    public static func crop(resolution: Int) -> RobustnessSweep {
        let step = max(1, resolution / 16)
        let sizes = stride(from: resolution - step, through: max(1, resolution / 2), by: -step)
        return RobustnessSweep(
            name: "crop", title: "centre cropping", xLabel: "centre crop side (pixels), resized back to \(resolution)",
            points: [Point(x: Double(resolution), attack: .none)] + sizes.map {
                Point(x: Double($0), attack: .image(.centerCrop(.pixels($0), resizedBack: true)))
            },
            reversesXAxis: true)
    }

    /// Gaussian noise on every generator weight, σ from 0 to 1 in absolute units (what
    /// `ModelPerturbation.weightNoise` adds). StyleGAN2's raw weights are N(0, 1) (equalised
    /// learning rate), like ProGAN's, so this matches the paper's axis; its working range was
    /// σ ≤ 0.18, and σ = 1 (as large as the weights themselves) destroys the generator.
    public static let weightNoise = RobustnessSweep(
        name: "weightnoise", title: "generator weight noise", xLabel: "generator weight noise standard deviation",
        points: [Point(x: 0, attack: .none)] + [0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1].map {
            Point(x: $0, attack: .model(.weightNoise(standardDeviation: Float($0))))
        })

    /// Every generator weight rounded to 10^−d for d = 4 … −1; the unperturbed reference is
    /// drawn at d = 5. The paper's working range is d ≥ 1; at d = −1 every N(0, 1) weight of the
    /// synthesis network becomes 0.
    public static let quantize = RobustnessSweep(
        name: "quantize", title: "generator weight quantisation", xLabel: "weight precision d (weights rounded to 10^-d)",
        points: [Point(x: 5, attack: .none)] + stride(from: 4, through: -1, by: -1).map {
            Point(x: Double($0), attack: .model(.weightQuantization(decimals: $0)))
        },
        reversesXAxis: true)

    /// The names of the default image sweeps and model sweeps.
    public static let imageSweepNames = ["noise", "blur", "jpeg", "crop"], modelSweepNames = ["weightnoise", "quantize"]

    /// The default sweep called `name` for a decoder of `resolution`, or nil for an unknown name.
    public static func named(_ name: String, resolution: Int) -> RobustnessSweep? {
        [noise, blur, jpeg, crop(resolution: resolution), weightNoise, quantize].first { $0.name == name.lowercased() }
    }
}
