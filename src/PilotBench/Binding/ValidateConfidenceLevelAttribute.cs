using System.Management.Automation;
using PilotBench.Engine.Statistics;

namespace PilotBench.Binding;

/// <summary>
/// -ConfidenceLevel must lie strictly between 0 and 1 (ValidateRange would admit 0 and 1, where an
/// interval is a point or everything). Checked at binding, with the engine's own rule and message.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class ValidateConfidenceLevelAttribute : ValidateArgumentsAttribute
{
    protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
    {
        double level = LanguagePrimitives.ConvertTo<double>(arguments);
        try
        {
            ProportionInterval.CheckLevel(level);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new ValidationMetadataException($"{level.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not a confidence level: give a number strictly between 0 and 1, for example 0.95.");
        }
    }
}
